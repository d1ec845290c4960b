// The cdylib (TSan builds only, see Cargo.toml) gets a SONAME so executables find it by name
// through their build RPATH.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libattnserve_hf_tokenizers.so");
    println!("cargo:rerun-if-changed=build.rs");
}

//! Links the kernel with its own script: higher-half virtual addresses, physical load
//! addresses through AT(), and the sections the kernel walks at run time (.ktests, .smap_sites).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    println!("cargo:rustc-link-arg-bins=-znorelro");
    println!("cargo:rustc-link-arg-bins=--no-dynamic-linker");
    // cargo does not relink on a script change without this.
    println!("cargo:rerun-if-changed={dir}/linker.ld");
}

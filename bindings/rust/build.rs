//! Builds the C core of infino (the repository's `src/` and `include/`)
//! into a static library and tells rustc what it links against.
//!
//! The source list is the same as CMakeLists.txt's: every `.c` file of
//! the eleven layer folders. The external libraries are the Debian
//! packages scripts/setup.sh installs; pkg-config finds them, as it does
//! for the CMake build, except CRoaring, which ships no .pc file there.

use std::path::{Path, PathBuf};

/// The layer folders of src/, in CMakeLists.txt's order.
const LAYERS: &[&str] = &[
    "util",
    "store",
    "format/arrow",
    "format/parquet",
    "index/fts",
    "index/vector",
    "superfile",
    "table",
    "query",
    "sql",
    "api",
];

/// pkg-config modules, as CMakeLists.txt names them.
const PKG_MODULES: &[&str] = &[
    "libzstd",
    "zlib",
    "libxxhash",
    "libutf8proc",
    "sqlite3",
    "libcurl",
    "libcrypto",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("../..");
    let src = root.join("src");
    let include = root.join("include");
    if !include.join("infino.h").exists() {
        panic!(
            "infino: the C sources are not at {} (this crate builds from the \
             repository checkout that holds it)",
            root.display()
        );
    }

    let mut build = cc::Build::new();
    // The C core is the hot path of every call: build it optimized even
    // in a debug profile, as CMake's RelWithDebInfo does.
    build
        .opt_level(2)
        .debug(true)
        .std("c11")
        .include(&include)
        .include(&src)
        .define("_POSIX_C_SOURCE", "200809L")
        .define("INFINO_BUILDING", None)
        .flag("-fvisibility=hidden")
        .warnings(false);

    for m in PKG_MODULES {
        let lib = pkg_config::Config::new()
            .cargo_metadata(false)
            .probe(m)
            .unwrap_or_else(|e| {
                panic!("infino: pkg-config cannot find {m} (run scripts/setup.sh): {e}")
            });
        for p in &lib.include_paths {
            build.include(p);
        }
        for (k, v) in &lib.defines {
            build.define(k, v.as_deref());
        }
    }

    let mut n_files = 0;
    for layer in LAYERS {
        let dir = src.join(layer);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("infino: reading {}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        files.sort();
        n_files += files.len();
        build.files(files);
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    assert!(n_files > 0, "infino: no C sources under {}", src.display());
    watch_tree(&src);
    watch_tree(&include);
    println!("cargo:rerun-if-changed=build.rs");

    build.compile("infino_c");

    // After the static library, so the linker resolves its references.
    for m in PKG_MODULES {
        pkg_config::Config::new()
            .cargo_metadata(true)
            .probe(m)
            .expect("probed above");
    }
    println!("cargo:rustc-link-lib=roaring");
    println!("cargo:rustc-link-lib=stemmer");
    println!("cargo:rustc-link-lib=pthread");
    println!("cargo:rustc-link-lib=m");
}

/// Rebuild when any C source or header under `dir` changes.
fn watch_tree(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            watch_tree(&p);
        } else if p.extension().is_some_and(|x| x == "c" || x == "h") {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}

//! Generates an export and prints its summary and the elapsed time.
//!
//! `cargo run --release -p gendata --example gen -- <out> [products] [customers] [seed] [3.1|2.x]`

use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: gen <out> [products] [customers] [seed] [format]")?,
    );
    let mut opts = gendata::Options::default();
    if let Some(v) = args.next() {
        opts.products = v.parse()?;
    }
    if let Some(v) = args.next() {
        opts.customers = v.parse()?;
    }
    if let Some(v) = args.next() {
        opts.seed = v.parse()?;
    }
    if let Some(v) = args.next() {
        opts.format = v.parse()?;
    }
    let started = Instant::now();
    let summary = gendata::generate(&opts, &out)?;
    let elapsed = started.elapsed();
    println!("{}", summary.to_json());
    eprintln!("generated in {:.2?}", elapsed);
    Ok(())
}

use clap::Parser;

// mimalloc: the request path allocates many small rows and strings from several threads (the
// database workers and the runtime); under load glibc's allocator showed up as a fifth of the CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    openiop_web::telemetry::init_logging();
    let cli = openiop_web::cli::Cli::parse();
    match openiop_web::cli::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

use clap::Parser;

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

#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {}
pub fn run(_a: LoadArgs) -> Result<(), String> {
    Ok(())
}

fn main() {
    eprintln!("rrtool: not built yet");
    std::process::exit(2);
}

import Plataforma

@main
enum Entrypoint {
    static func main() async {
        await Plataforma.main()
    }
}

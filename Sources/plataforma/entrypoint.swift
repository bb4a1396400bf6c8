import Plataforma

@main
enum Entrypoint {
    static func main() async throws {
        try await Plataforma.main()
    }
}

import Fluent
import Vapor

/// `plataforma migrate [--revert]`: applies pending migrations without asking (CI, containers).
struct MigrateDatabaseCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "revert", help: "Reverts the last batch of migrations instead.")
        var revert: Bool
        init() {}
    }

    var help: String { "Applies pending database migrations." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        if signature.revert {
            try await app.autoRevert()
            context.console.print("Reverted the last batch of migrations.")
        } else {
            try await app.autoMigrate()
            try await prepareDatabase(app)
            context.console.print("Migrations are up to date.")
        }
    }
}

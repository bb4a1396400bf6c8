import Vapor

/// `plataforma flush-expired-tokens`: SimpleJWT's `flushexpiredtokens`, for a daily cron.
struct FlushExpiredTokensCommand: AsyncCommand {
    struct Signature: CommandSignature { init() {} }

    var help: String { "Deletes outstanding and blacklisted token rows past their expiry." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let service = context.application.storage[TokenServiceKey.self] else { return }
        try await service.flushExpired(on: context.application.db)
        context.console.print("Expired tokens flushed.")
    }
}

import Foundation
import NIOConcurrencyHelpers
import Vapor

/// A Sentry ingestion endpoint on loopback (`POST /api/<project>/envelope/`) that keeps what it
/// receives: the real envelope protocol, so the reporter is tested end to end.
final class FakeSentry: Sendable {
    struct Received: Sendable {
        let path: String
        let auth: String
        let contentType: String
        let body: String
    }

    private let app: Application
    private let received = NIOLockedValueBox<[Received]>([])

    private init(app: Application) { self.app = app }

    static func start() async throws -> (FakeSentry, port: Int) {
        let app = try await Application.make(.testing)
        app.logger.logLevel = .critical
        let fake = FakeSentry(app: app)
        app.on(.POST, "api", ":project", "envelope", body: .collect(maxSize: "1mb")) { req -> HTTPStatus in
            fake.received.withLockedValue {
                $0.append(Received(path: req.url.path, auth: req.headers.first(name: "X-Sentry-Auth") ?? "",
                                   contentType: req.headers.first(name: .contentType) ?? "",
                                   body: req.body.string ?? ""))
            }
            return .ok
        }
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        guard let port = app.http.server.shared.localAddress?.port else { throw Abort(.internalServerError) }
        return (fake, port)
    }

    var envelopes: [Received] { received.withLockedValue { $0 } }

    /// Waits up to `seconds` for `count` envelopes.
    func waitFor(_ count: Int, seconds: Double = 5) async throws -> [Received] {
        let deadline = Date().addingTimeInterval(seconds)
        while envelopes.count < count, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return envelopes
    }

    func stop() async {
        await app.server.shutdown()
        try? await app.asyncShutdown()
    }
}

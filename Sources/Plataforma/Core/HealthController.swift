import Fluent
import SQLKit
import Vapor

/// `/healthz` (the process answers) and `/readyz` (its dependencies answer), SPEC §8.
struct HealthController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("healthz", use: health)
        routes.get("readyz", use: ready)
    }

    struct Status: Content {
        var status: String
        var database: String?
    }

    @Sendable func health(req: Request) async throws -> Status {
        Status(status: "ok", database: nil)
    }

    @Sendable func ready(req: Request) async throws -> Response {
        let databaseUp = await Self.databaseAnswers(req)
        guard databaseUp else {
            var error = APIError.serviceUnavailable()
            error.body = .custom([
                "detail": .string("La base de datos no responde."), "code": .string("service_unavailable"),
                "database": .string("error"),
            ])
            throw error
        }
        return try await Status(status: "ok", database: "ok").encodeResponse(for: req)
    }

    static func databaseAnswers(_ req: Request) async -> Bool {
        guard let sql = req.db as? any SQLDatabase else { return false }
        do {
            try await sql.raw("SELECT 1").run()
            return true
        } catch {
            return false
        }
    }
}

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
        var redis: String?
    }

    @Sendable func health(req: Request) async throws -> Status {
        Status(status: "ok", database: nil, redis: nil)
    }

    @Sendable func ready(req: Request) async throws -> Response {
        async let databaseUp = Self.databaseAnswers(req)
        async let redisUp = req.application.redis?.client.ping()
        let (database, redis) = await (databaseUp, redisUp)
        guard database, redis != false else {
            var error = APIError.serviceUnavailable()
            var body: [String: JSONValue] = [
                "detail": .string(database ? "Redis no responde." : "La base de datos no responde."),
                "code": .string("service_unavailable"), "database": database ? "ok" : "error",
            ]
            if let redis { body["redis"] = redis ? "ok" : "error" }
            error.body = .custom(body)
            throw error
        }
        return try await Status(status: "ok", database: "ok", redis: redis.map { $0 ? "ok" : "error" }).encodeResponse(for: req)
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

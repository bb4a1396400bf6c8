import Fluent
import Foundation
import Testing
import Vapor
@testable import Plataforma

@Suite("Commands")
struct CommandTests {
    @Test("createsuperuser makes an active admin who can log in; bad input is refused")
    func createSuperuser() async throws {
        try await withApp { t in
            let user = try await CreateSuperuserCommand.createSuperuser(
                email: "Jefa@Example.com", password: "Girasol-Tranquilo-77", nombre: "Jefa", apellidos: "", on: t.db)
            #expect(user.rol == .admin && user.activo)
            let login = try await t.send(.POST, "/api/token/", json: ["email": "jefa@example.com", "password": "Girasol-Tranquilo-77"])
            #expect(login.status == .ok)
            await #expect(throws: CreateSuperuserCommand.Failure.self) {
                try await CreateSuperuserCommand.createSuperuser(email: "JEFA@example.com", password: "Girasol-Tranquilo-77",
                                                                 nombre: "Otra", apellidos: "", on: t.db)
            }
            await #expect(throws: CreateSuperuserCommand.Failure.self) {
                try await CreateSuperuserCommand.createSuperuser(email: "nueva@example.com", password: "12345678",
                                                                 nombre: "Nueva", apellidos: "", on: t.db)
            }
            await #expect(throws: CreateSuperuserCommand.Failure.self) {
                try await CreateSuperuserCommand.createSuperuser(email: "no-email", password: "Girasol-Tranquilo-77",
                                                                 nombre: "Nueva", apellidos: "", on: t.db)
            }
            #expect(try await Usuario.query(on: t.db).count() == 1)
        }
    }

    @Test("flush-expired-tokens removes only rows past their expiry")
    func flushExpired() async throws {
        try await withApp { t in
            let user = try await t.makeUser()
            let live = try await t.pair(for: user).refresh ?? ""
            let old = try #require(try await TokenEmitido.query(on: t.db).first())
            let stale = TokenEmitido(jti: TokenClaims.newJTI(), usuarioID: try user.requireID(), familiaID: old.$familia.id,
                                     creado: Date(timeIntervalSinceNow: -200_000), expira: Date(timeIntervalSinceNow: -100_000))
            try await stale.create(on: t.db)
            try await t.tokens.flushExpired(on: t.db)
            #expect(try await TokenEmitido.query(on: t.db).count() == 1)
            #expect(try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(live)]).status == .ok)
        }
    }

    @Test("the route table lists the API (what `plataforma routes` prints)")
    func routeTable() async throws {
        try await withApp { t in
            let paths = Set(t.app.routes.all.map { "\($0.method.rawValue) /" + $0.path.map(\.description).joined(separator: "/") })
            for expected in ["POST /api/token", "POST /api/token/refresh", "POST /api/token/blacklist", "POST /api/token/verify",
                             "POST /api/auth/login", "GET /api/auth/me", "POST /api/auth/cambiar-password",
                             "GET /api/usuarios", "DELETE /api/usuarios/:id", "GET /api/roles", "GET /healthz", "GET /readyz"] {
                #expect(paths.contains(expected), "\(expected)")
            }
        }
    }
}

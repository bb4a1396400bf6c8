import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
@testable import Plataforma

@Suite("Auditoría")
struct AuditoriaTests {
    /// Every stored audit row as text, to look for secrets.
    func allAuditText(_ t: TestApp) async throws -> String {
        try await EntradaAuditoria.query(on: t.db).all().map { "\($0.recurso) \($0.recursoID ?? "") \($0.cambios ?? "")" }.joined(separator: "\n")
    }

    @Test("creates, updates and deletes are recorded with who, where and before/after; encrypted fields masked")
    func writes() async throws {
        try await withApp { t in
            let (admin, token) = try await t.userWithToken(.admin)
            let created = try await t.send(.POST, "/api/mentores/", token: token, json: [
                "nombre": "Lucía", "apellidos": "Gil", "email": "lucia@example.com", "telefono": "+34 600 111 222",
                "documento_identidad": "12345678Z",
            ])
            #expect(created.status == .created)
            let id = try #require(created.json["id"].int)
            #expect(try await t.send(.PATCH, "/api/mentores/\(id)/", token: token, json: ["biografia": "Ingeniera", "telefono": "+34 600 999 888"]).status == .ok)
            #expect(try await t.send(.DELETE, "/api/mentores/\(id)/", token: token).status == .noContent)

            let res = try await t.send(.GET, "/api/auditoria/?recurso=mentores", token: token)
            #expect(res.status == .ok)
            #expect(res.json["count"] == 3)
            let entries = res.json["results"].array
            #expect(entries.map { $0["accion"] } == ["eliminar", "actualizar", "crear"])  // newest first
            #expect(entries.allSatisfy { $0["usuario"].int == admin.id && $0["ip"] == "127.0.0.1" && $0["recurso_id"] == .string("\(id)") })
            #expect(entries[0].objectKeys == ["id", "usuario", "accion", "recurso", "recurso_id", "cambios", "ip", "fecha"])
            let update = entries[1]["cambios"]
            #expect(update["antes"]["biografia"] == "" && update["despues"]["biografia"] == "Ingeniera")
            #expect(update["despues"]["telefono_cifrado"] == "[oculto]")  // changed, value hidden
            #expect(update["despues"]["nombre"] == .null)  // unchanged fields are left out
            #expect(entries[2]["cambios"]["despues"]["email"] == "lucia@example.com")
            #expect(entries[0]["cambios"]["antes"]["nombre"] == "Lucía")
            let text = try await allAuditText(t)
            for secret in ["600 111 222", "600 999 888", "12345678Z"] { #expect(!text.contains(secret)) }
        }
    }

    @Test("logins, failed logins, logouts and a family revoked for reuse are recorded; passwords and tokens never")
    func authentication() async throws {
        try await withApp(["REFRESH_REUSE_GRACE_SECONDS": "0"]) { t in
            let user = try await t.makeUser(.coordinador, email: "coord@example.com")
            let (_, admin) = try await t.userWithToken(.admin)
            let login = try await t.send(.POST, "/api/token/", json: ["email": "coord@example.com", "password": .string(fixturePassword)])
            #expect(login.status == .ok)
            let failed = try await t.send(.POST, "/api/token/", json: ["email": "coord@example.com", "password": "Contraseña-Mala-1"])
            #expect(failed.status == .unauthorized)
            let unknown = try await t.send(.POST, "/api/token/", json: ["email": "nadie@example.com", "password": "Otra-Mala-2"])
            #expect(unknown.status == .unauthorized)
            let refresh = try #require(login.json["refresh"].string)
            let rotated = try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)])
            #expect(rotated.status == .ok)
            try await Task.sleep(for: .milliseconds(1_100))
            #expect(try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)]).status == .unauthorized)
            let second = try await t.send(.POST, "/api/token/", json: ["email": "coord@example.com", "password": .string(fixturePassword)])
            #expect(try await t.send(.POST, "/api/token/blacklist/", json: ["refresh": second.json["refresh"]]).status == .ok)

            let res = try await t.send(.GET, "/api/auditoria/?usuario=\(try user.requireID())", token: admin)
            #expect(res.json["results"].array.map { $0["accion"] } == ["logout", "login", "revocar_token", "login_fallido", "login"])
            let anonymous = try await t.send(.GET, "/api/auditoria/?accion=login_fallido", token: admin)
            #expect(anonymous.json["count"] == 2)
            #expect(anonymous.json["results"][0]["usuario"].isNull && anonymous.json["results"][0]["cambios"]["despues"]["email"] == "nadie@example.com")
            let text = try await allAuditText(t)
            for secret in [fixturePassword, "Contraseña-Mala-1", "Otra-Mala-2", refresh, rotated.json["refresh"].string ?? "-",
                           login.json["access"].string ?? "-"] {
                #expect(!text.contains(secret))
            }
        }
    }

    @Test("approvals and rejections are recorded; a refused write records nothing; 10 racing creates record 1")
    func reviewsAndAtomicity() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let s = try await HoursSetup.make(t)
            let responses = try await t.concurrently(10, .POST, "/api/registro-horas/", token: s.token) { _ in s.body("09:00", "10:00") }
            #expect(responses.filter { $0.status == .created }.count == 1)
            let id = try #require(responses.first { $0.status == .created }?.body["id"].int)
            let other = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("11:00", "12:00"))
            #expect(try await t.send(.POST, "/api/registro-horas/\(id)/aprobar/", token: admin).status == .ok)
            #expect(try await t.send(.POST, "/api/registro-horas/\(other.json["id"].int ?? 0)/rechazar/", token: admin, json: ["motivo": "Duplicado"]).status == .ok)
            // Approving again is refused: no second entry.
            #expect(try await t.send(.POST, "/api/registro-horas/\(id)/aprobar/", token: admin).status == .badRequest)
            let res = try await t.send(.GET, "/api/auditoria/?recurso=registro-horas", token: admin)
            #expect(res.json["results"].array.map { $0["accion"] } == ["rechazar", "aprobar", "crear", "crear"])
            #expect(res.json["results"][0]["cambios"]["despues"]["estado"] == "rechazado")
            #expect(res.json["results"][1]["recurso_id"] == .string("\(id)"))
        }
    }

    @Test("uploads, edits and deletes of files are recorded with the blob's hash, never the bytes")
    func archivos() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let bytes = Sample.pdf(2_000)
            let res = try await t.upload("/api/archivos/", .file(bytes, filename: "acta.pdf"), token: admin)
            #expect(res.status == .created)
            let id = try #require(res.json["id"].int)
            #expect(try await t.send(.PATCH, "/api/archivos/\(id)/", token: admin, json: ["descripcion": "Acta firmada"]).status == .ok)
            #expect(try await t.send(.DELETE, "/api/archivos/\(id)/", token: admin).status == .noContent)
            let log = try await t.send(.GET, "/api/auditoria/?recurso=archivos", token: admin)
            #expect(log.json["results"].array.map { $0["accion"] } == ["eliminar", "actualizar", "crear"])
            #expect(log.json["results"][2]["cambios"]["despues"]["blob"]["id"] == .string(Sample.sha256(bytes)))
            #expect(log.json["results"][1]["cambios"]["despues"]["descripcion"] == "Acta firmada")
        }
    }

    @Test("only admins read it; filters are validated; desde/hasta bound the dates")
    func accessAndFilters() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let (_, coordinador) = try await t.userWithToken(.coordinador)
            let (_, mentor) = try await t.mentorWithToken()
            #expect(try await t.send(.GET, "/api/auditoria/", token: coordinador).status == .forbidden)
            #expect(try await t.send(.GET, "/api/auditoria/", token: mentor).status == .forbidden)
            #expect(try await t.send(.GET, "/api/auditoria/").status == .unauthorized)
            #expect(try await t.send(.POST, "/api/conocimientos/", token: admin, json: ["nombre": "Python"]).status == .created)
            let today = LocalDate.today(in: t.app.settings.timeZone)
            let inRange = try await t.send(.GET, "/api/auditoria/?accion=crear&desde=\(today)&hasta=\(today)", token: admin)
            #expect(inRange.json["count"] == 1 && inRange.json["results"][0]["recurso"] == "conocimientos")
            let before = try await t.send(.GET, "/api/auditoria/?hasta=\(today.adding(days: -1))", token: admin)
            #expect(before.json["count"] == 0)
            for query in ["accion=borrar", "usuario=x", "desde=hoy", "desde=2025-02-02&hasta=2025-02-01", "recurso=a%00b"] {
                #expect(try await t.send(.GET, "/api/auditoria/?\(query)", token: admin).status == .badRequest, "\(query)")
            }
        }
    }
}

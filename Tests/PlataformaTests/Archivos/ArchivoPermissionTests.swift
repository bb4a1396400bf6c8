import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

// Serialized: the suite starts every test at once, and these add many I/O-heavy apps to it.
@Suite("Archivos: permissions, filters and edits", .serialized)
struct ArchivoPermissionTests {
    @Test("a mentor sees, edits and deletes only their own files; another's id is 404; coordinators see all")
    func mentorsOwnOnly() async throws {
        try await withApp { t in
            let (_, ana) = try await t.mentorWithToken("Ana")
            let (_, luis) = try await t.mentorWithToken("Luis")
            let (_, coordinador) = try await t.userWithToken(.coordinador)
            let mine = try await t.upload("/api/archivos/", .file(Sample.text("de Ana\n"), filename: "ana.txt"), token: ana)
            #expect(mine.status == .created)
            let id = try #require(mine.json["id"].int)
            _ = try await t.upload("/api/archivos/", .file(Sample.text("de Luis\n"), filename: "luis.txt"), token: luis)
            #expect(try await t.send(.GET, "/api/archivos/", token: ana).json["count"] == 1)
            #expect(try await t.send(.GET, "/api/archivos/", token: coordinador).json["count"] == 2)
            for (method, path) in [(HTTPMethod.GET, "/api/archivos/\(id)/"), (.GET, "/api/archivos/\(id)/descarga/"),
                                   (.DELETE, "/api/archivos/\(id)/")] {
                let res = try await t.send(method, path, token: luis)
                #expect(res.status == .notFound, "\(method) \(path)")
                #expect(res.json == ["detail": "No encontrado.", "code": "not_found"])
            }
            #expect(try await t.send(.PATCH, "/api/archivos/\(id)/", token: luis, json: ["descripcion": "x"]).status == .notFound)
            #expect(try await t.send(.GET, "/api/archivos/\(id)/descarga/", token: coordinador).status == .ok)
            #expect(try await t.send(.GET, "/api/archivos/", token: nil).status == .unauthorized)
            #expect(try await t.upload("/api/archivos/", .file(Sample.pdf()), token: nil).status == .unauthorized)
            #expect(try await t.send(.DELETE, "/api/archivos/\(id)/", token: ana).status == .noContent)
        }
    }

    @Test("proyecto: a mentor files only under projects they are assigned to; PATCH changes descripcion and proyecto")
    func projectAndPatch() async throws {
        try await withApp { t in
            let (mentor, token) = try await t.mentorWithToken()
            let mine = try await t.makeProyecto("Mío", mentors: [mentor])
            let other = try await t.makeProyecto("Ajeno")
            let refused = try await t.upload("/api/archivos/", .file(Sample.pdf(), fields: [("proyecto", "\(try other.requireID())")]), token: token)
            #expect(refused.status == .badRequest)
            #expect(refused.json == ["proyecto": [.string("Clave primaria \"\(try other.requireID())\" inválida - objeto no existe.")]])
            let res = try await t.upload("/api/archivos/", .file(Sample.pdf(), fields: [("proyecto", "\(try mine.requireID())"), ("descripcion", "")]),
                                         token: token)
            #expect(res.status == .created)
            #expect(res.json["proyecto"].int == mine.id)
            let id = try #require(res.json["id"].int)
            let patched = try await t.send(.PATCH, "/api/archivos/\(id)/", token: token, json: ["descripcion": "Acta", "proyecto": nil])
            #expect(patched.status == .ok)
            #expect(patched.json["descripcion"] == "Acta" && patched.json["proyecto"] == nil)
            #expect(patched.json["nombre"] == "informe.pdf")
            let bad = try await t.send(.PATCH, "/api/archivos/\(id)/", token: token, json: ["proyecto": .int(Int64(try other.requireID()))])
            #expect(bad.status == .badRequest)
            #expect(try await t.send(.PUT, "/api/archivos/\(id)/", token: token, json: [:]).status == .methodNotAllowed)
        }
    }

    @Test("lists filter by proyecto and propietario, search nombre and descripcion, and order; bad filters are 400")
    func filters() async throws {
        try await withApp { t in
            let (admin, token) = try await t.userWithToken(.admin)
            let (_, other) = try await t.userWithToken(.coordinador)
            let project = try await t.makeProyecto()
            let pid = try project.requireID()
            _ = try await t.upload("/api/archivos/", .file(Sample.pdf(3_000), filename: "acta.pdf", fields: [("proyecto", "\(pid)")]), token: token)
            _ = try await t.upload("/api/archivos/", .file(Sample.pdf(1_000, seed: 1), filename: "otro.pdf",
                                                           fields: [("descripcion", "Presupuesto anual")]), token: token)
            _ = try await t.upload("/api/archivos/", .file(Sample.pdf(2_000, seed: 2), filename: "ajeno.pdf"), token: other)
            func names(_ query: String) async throws -> [String] {
                try await t.send(.GET, "/api/archivos/?\(query)", token: token).json["results"].array.compactMap { $0["nombre"].string }
            }
            #expect(try await names("proyecto=\(pid)") == ["acta.pdf"])
            #expect(try await names("propietario=\(try admin.requireID())&ordering=nombre") == ["acta.pdf", "otro.pdf"])
            #expect(try await names("search=PRESUP") == ["otro.pdf"])
            #expect(try await names("ordering=-tamano") == ["acta.pdf", "ajeno.pdf", "otro.pdf"])
            let bad = try await t.send(.GET, "/api/archivos/?proyecto=abc", token: token)
            #expect(bad.status == .badRequest)
            #expect(bad.json.objectKeys == ["proyecto"])
            let page = try await t.send(.GET, "/api/archivos/?page_size=2", token: token).json
            #expect(page["count"] == 3 && page["results"].array.count == 2 && page["next"].string != nil)
        }
    }
}

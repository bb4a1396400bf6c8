import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Usuarios and roles")
struct UsuarioTests {
    static let valid: JSONValue = [
        "email": "Nuevo.Mentor@Example.COM", "password": "Girasol-Tranquilo-77", "nombre": "Nuevo",
        "apellidos": "Mentor Díaz", "rol": "mentor",
    ]

    @Test("Usuario lists its Fluent properties by hand: the same ones, in the same order, as reflection finds")
    func propertiesMatchReflection() {
        let usuario = Usuario()
        let listed = usuario.properties.map { ObjectIdentifier($0 as AnyObject) }
        let reflected = Mirror(reflecting: usuario).children.compactMap { $0.value as? any AnyProperty }.map { ObjectIdentifier($0 as AnyObject) }
        #expect(reflected.count == 12)
        #expect(listed == reflected)
    }

    @Test("an admin creates an account: 201 with the detail representation, no password")
    func create() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let res = try await t.send(.POST, "/api/usuarios/", token: token, json: Self.valid)
            #expect(res.status == .created)
            #expect(res.json.objectKeys == ["id", "email", "nombre", "apellidos", "rol", "activo", "foto", "fecha_creacion", "ultimo_acceso"])
            #expect(res.json["email"] == "Nuevo.Mentor@example.com")  // Django's normalize_email: domain lowercased
            #expect(res.json["activo"] == true)
            #expect(res.json["foto"].isNull)
            #expect(res.json["ultimo_acceso"].isNull)
            #expect(res.json["fecha_creacion"].string?.hasSuffix("Z") == true)
            let id = try #require(res.json["id"].int)
            let detail = try await t.send(.GET, "/api/usuarios/\(id)/", token: token)
            #expect(detail.json == res.json)
            let login = try await t.send(.POST, "/api/token/", json: ["email": "nuevo.mentor@example.com", "password": "Girasol-Tranquilo-77"])
            #expect(login.status == .ok)
            let stored = try #require(try await Usuario.find(id, on: t.db))
            #expect(stored.password.hasPrefix("pbkdf2_sha256$600000$"))
        }
    }

    @Test("every invalid field is reported at once with DRF's messages")
    func createValidation() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let res = try await t.send(.POST, "/api/usuarios/", token: token, json: [
                "email": "no-es-email", "password": "12345678", "nombre": "", "rol": "jefe", "activo": "quizas",
                "apellidos": .string(String(repeating: "x", count: 151)),
            ])
            #expect(res.status == .badRequest)
            #expect(res.json == [
                "email": ["Introduzca una dirección de correo electrónico válida."],
                "password": ["Esta contraseña es demasiado común.", "Esta contraseña es completamente numérica."],
                "nombre": ["Este campo no puede estar en blanco."],
                "rol": ["\"jefe\" no es una elección válida."],
                "activo": ["Debe ser un booleano válido."],
                "apellidos": ["Asegúrese de que este campo no tenga más de 150 caracteres."],
            ])
            let missing = try await t.send(.POST, "/api/usuarios/", token: token, json: [:])
            #expect(missing.json == [
                "email": ["Este campo es requerido."], "password": ["Este campo es requerido."], "nombre": ["Este campo es requerido."],
            ])
            let similar = try await t.send(.POST, "/api/usuarios/", token: token, json: [
                "email": "margarita.flores@example.com", "password": "margarita.flores", "nombre": "Luis",
            ])
            #expect(similar.json["password"][0] == "La contraseña es demasiado similar a la de correo electrónico.")
            #expect(try await Usuario.query(on: t.db).count() == 1)
        }
    }

    @Test("emails are unique case-insensitively, also on update")
    func uniqueEmail() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let other = try await t.makeUser(email: "ocupado@example.com")
            var body = Self.valid
            if case .object(var object) = body { object["email"] = "OCUPADO@example.com"; body = .object(object) }
            let res = try await t.send(.POST, "/api/usuarios/", token: token, json: body)
            #expect(res.status == .badRequest)
            #expect(res.json == ["email": ["Ya existe un usuario con este email."]])
            let mentor = try await t.makeUser()
            let patch = try await t.send(.PATCH, "/api/usuarios/\(try mentor.requireID())/", token: token, json: ["email": "Ocupado@Example.com"])
            #expect(patch.status == .badRequest)
            let same = try await t.send(.PATCH, "/api/usuarios/\(try other.requireID())/", token: token, json: ["email": "OCUPADO@example.com"])
            #expect(same.status == .ok)
        }
    }

    @Test("two concurrent creates with one email: exactly one 201, the other 400")
    func concurrentCreate() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let responses = try await t.concurrently(2, .POST, "/api/usuarios/", token: token) { index in
                ["email": .string(index == 0 ? "carrera@example.com" : "CARRERA@example.com"),
                 "password": "Girasol-Tranquilo-77", "nombre": "Carrera"]
            }
            #expect(responses.map(\.status.code).sorted() == [201, 400])
            #expect(responses.first { $0.status == .badRequest }?.body == ["email": ["Ya existe un usuario con este email."]])
            #expect(try await Usuario.query(on: t.db).filter(\.$emailClave == "carrera@example.com").count() == 1)
        }
    }

    @Test("PUT needs the required fields, PATCH changes only what it sends")
    func update() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let user = try await t.makeUser(email: "editar@example.com", nombre: "Eva", apellidos: "Ruiz")
            let path = "/api/usuarios/\(try user.requireID())/"
            let put = try await t.send(.PUT, path, token: token, json: ["apellidos": "Solo"])
            #expect(put.status == .badRequest)
            #expect(put.json == ["email": ["Este campo es requerido."], "nombre": ["Este campo es requerido."]])
            let patch = try await t.send(.PATCH, path, token: token, json: ["apellidos": "Ruiz Soto", "rol": "coordinador"])
            #expect(patch.status == .ok)
            #expect(patch.json["nombre"] == "Eva")
            #expect(patch.json["apellidos"] == "Ruiz Soto")
            #expect(patch.json["rol"] == "coordinador")
            let full = try await t.send(.PUT, path, token: token, json: ["email": "editar@example.com", "nombre": "Eva María"])
            #expect(full.status == .ok)
            #expect(full.json["nombre"] == "Eva María")
        }
    }

    @Test("an admin setting a password ends the account's sessions")
    func adminSetsPassword() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let user = try await t.makeUser()
            let pair = try await t.pair(for: user)
            let res = try await t.send(.PATCH, "/api/usuarios/\(try user.requireID())/", token: token, json: ["password": "Girasol-Tranquilo-77"])
            #expect(res.status == .ok)
            #expect(res.json["password"].isNull)
            #expect(try await t.send(.GET, "/api/auth/me/", token: pair.access).status == .unauthorized)
            #expect(try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(pair.refresh ?? "")]).status == .unauthorized)
        }
    }

    @Test("delete: 204, then 404; an admin cannot delete, demote, deactivate or re-password themself here")
    func delete() async throws {
        try await withApp { t in
            let (admin, token) = try await t.userWithToken(.admin)
            let user = try await t.makeUser()
            _ = try await t.pair(for: user)
            let path = "/api/usuarios/\(try user.requireID())/"
            #expect(try await t.send(.DELETE, path, token: token).status == .noContent)
            #expect(try await t.send(.GET, path, token: token).status == .notFound)
            #expect(try await TokenFamilia.query(on: t.db).filter(\.$usuario.$id == (user.id ?? 0)).count() == 0)
            let me = "/api/usuarios/\(try admin.requireID())/"
            let selfDelete = try await t.send(.DELETE, me, token: token)
            #expect(selfDelete.status == .badRequest)
            #expect(selfDelete.json == ["non_field_errors": ["No puede eliminar su propia cuenta."]])
            let demote = try await t.send(.PATCH, me, token: token, json: ["rol": "mentor", "activo": false, "password": "Otra-Clave-Segura-91"])
            #expect(demote.json == ["rol": ["No puede cambiar su propio rol."], "activo": ["No puede desactivar su propia cuenta."],
                                    "password": ["Para cambiar su propia contraseña use /api/auth/cambiar-password/."]])
            #expect(try await t.send(.GET, "/api/auth/me/", token: token).status == .ok)  // the session survived
        }
    }

    @Test("permissions: coordinators read only, mentors get 403 even for their own id, anonymous 401")
    func permissions() async throws {
        try await withApp { t in
            let (_, coordinador) = try await t.userWithToken(.coordinador)
            let (mentor, mentorToken) = try await t.userWithToken(.mentor)
            let path = "/api/usuarios/\(try mentor.requireID())/"
            #expect(try await t.send(.GET, "/api/usuarios/", token: coordinador).status == .ok)
            #expect(try await t.send(.GET, path, token: coordinador).status == .ok)
            for (method, json) in [(HTTPMethod.POST, Self.valid), (.PATCH, ["nombre": "X"]), (.DELETE, nil)] as [(HTTPMethod, JSONValue?)] {
                let target = method == .POST ? "/api/usuarios/" : path
                let res = try await t.send(method, target, token: coordinador, json: json)
                #expect(res.status == .forbidden)
                #expect(res.json == ["detail": "Usted no tiene permiso para realizar esta acción.", "code": "permission_denied"])
            }
            #expect(try await t.send(.GET, "/api/usuarios/", token: mentorToken).status == .forbidden)
            #expect(try await t.send(.GET, path, token: mentorToken).status == .forbidden)
            let anonymous = try await t.send(.GET, "/api/usuarios/")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.json["code"] == "not_authenticated")
        }
    }

    @Test("list: paginated, filtered by rol and activo, searched and ordered")
    func listFilters() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.makeUser(.mentor, email: "zoe@example.com", nombre: "Zoe", apellidos: "Álvarez")
            try await t.makeUser(.mentor, email: "bruno@example.com", nombre: "Bruno", apellidos: "Castro", activo: false)
            try await t.makeUser(.coordinador, email: "carla@example.com", nombre: "Carla", apellidos: "Núñez")
            var res = try await t.send(.GET, "/api/usuarios/?rol=mentor&ordering=nombre", token: token)
            #expect(res.json["count"] == 2)
            #expect(res.json["results"].array.map { $0["nombre"].string ?? "" } == ["Bruno", "Zoe"])
            res = try await t.send(.GET, "/api/usuarios/?rol=mentor&activo=false", token: token)
            #expect(res.json["results"].array.map { $0["email"].string ?? "" } == ["bruno@example.com"])
            res = try await t.send(.GET, "/api/usuarios/?search=CASTRO", token: token)
            #expect(res.json["count"] == 1)
            res = try await t.send(.GET, "/api/usuarios/?search=example.com%20carla", token: token)
            #expect(res.json["count"] == 1)
            res = try await t.send(.GET, "/api/usuarios/?search=100%25", token: token)
            #expect(res.json["count"] == 0)  // % is a literal, not a wildcard
            res = try await t.send(.GET, "/api/usuarios/?ordering=-email,desconocido", token: token)
            #expect(res.json["results"][0]["email"] == "zoe@example.com")
            res = try await t.send(.GET, "/api/usuarios/?rol=jefe&activo=quizas", token: token)
            #expect(res.status == .badRequest)
            #expect(res.json["rol"][0].string?.contains("jefe") == true)
            #expect(res.json["activo"] == ["Debe ser un booleano válido."])
        }
    }

    @Test("pagination: count, absolute next/previous, page_size capped at 100, bad pages 404")
    func pagination() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            for index in 0..<24 { try await t.makeUser(email: "u\(index)@example.com") }
            var res = try await t.send(.GET, "/api/usuarios/?rol=mentor", token: token, headers: ["Host": "api.example.com"])
            #expect(res.json["count"] == 24)
            #expect(res.json["results"].array.count == 20)
            #expect(res.json["next"] == "http://api.example.com/api/usuarios/?rol=mentor&page=2")
            #expect(res.json["previous"].isNull)
            res = try await t.send(.GET, "/api/usuarios/?rol=mentor&page=2", token: token, headers: ["Host": "api.example.com"])
            #expect(res.json["results"].array.count == 4)
            #expect(res.json["next"].isNull)
            #expect(res.json["previous"] == "http://api.example.com/api/usuarios/?rol=mentor")
            res = try await t.send(.GET, "/api/usuarios/?page_size=5&page=3", token: token)
            #expect(res.json["results"].array.count == 5)
            res = try await t.send(.GET, "/api/usuarios/?page_size=1000", token: token)
            #expect(res.json["results"].array.count == 25)
            res = try await t.send(.GET, "/api/usuarios/?page_size=abc", token: token)
            #expect(res.json["results"].array.count == 20)
            res = try await t.send(.GET, "/api/usuarios/?page=last&page_size=10", token: token)
            #expect(res.json["results"].array.count == 5)
            for page in ["4", "0", "-1", "abc", "99999999999999999999", "9223372036854775807"] {
                res = try await t.send(.GET, "/api/usuarios/?page=\(page)", token: token)
                #expect(res.status == .notFound, "\(page)")
                #expect(res.json == ["detail": "Página inválida.", "code": "not_found"])
            }
        }
    }

    @Test("links honour X-Forwarded-* only from TRUSTED_PROXIES")
    func forwardedHeaders() async throws {
        let forwarded: HTTPHeaders = ["Host": "10.0.0.5:8000", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "mentores.example.org"]
        try await withApp(["TRUSTED_PROXIES": "127.0.0.1/32"]) { t in
            let (_, token) = try await t.userWithToken(.admin)
            for index in 0..<3 { try await t.makeUser(email: "f\(index)@example.com") }
            let res = try await t.send(.GET, "/api/usuarios/?page_size=2", token: token, headers: forwarded)
            #expect(res.json["next"] == "https://mentores.example.org/api/usuarios/?page_size=2&page=2")
        }
        try await withApp(["TRUSTED_PROXIES": "10.9.9.9"]) { t in
            let (_, token) = try await t.userWithToken(.admin)
            for index in 0..<3 { try await t.makeUser(email: "f\(index)@example.com") }
            let res = try await t.send(.GET, "/api/usuarios/?page_size=2", token: token, headers: forwarded)
            #expect(res.json["next"] == "http://10.0.0.5:8000/api/usuarios/?page_size=2&page=2")
        }
    }

    @Test("roles: the three roles with their permissions, paginated, for any authenticated user")
    func roles() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.mentor)
            let res = try await t.send(.GET, "/api/roles/", token: token)
            #expect(res.status == .ok)
            #expect(res.json["count"] == 3)
            let roles = res.json["results"].array
            #expect(roles.map { $0["codigo"].string ?? "" } == ["admin", "coordinador", "mentor"])
            #expect(roles[0]["nombre"] == "Administrador")
            let mentor = roles[2]["permisos"].array.compactMap(\.string)
            #expect(mentor.contains("registro-horas:crear:propio"))
            #expect(!mentor.contains { $0.hasPrefix("usuarios:") })
            #expect(roles[0]["permisos"].array.contains("auditoria:leer"))
            #expect(!roles[1]["permisos"].array.contains("auditoria:leer"))
            #expect(try await t.send(.GET, "/api/roles/coordinador/", token: token).json["codigo"] == "coordinador")
            #expect(try await t.send(.GET, "/api/roles/jefe/", token: token).status == .notFound)
        }
    }
}

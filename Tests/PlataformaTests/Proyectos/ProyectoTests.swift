import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Proyectos and grupos")
struct ProyectoTests {
    static func record(_ t: TestApp, mentor: Mentor, project: Proyecto, horas: Int, estado: EstadoRegistro,
                       fecha: String = "2025-03-03", inicio: Int = 540) async throws {
        let record = RegistroHoras()
        record.$mentor.id = try mentor.requireID()
        record.$proyecto.id = try project.requireID()
        record.fecha = fecha; record.horaInicio = inicio; record.horaFin = inicio + horas * 60 / 100; record.horas = horas
        record.descripcion = ""; record.estado = estado; record.motivoRechazo = ""; record.creado = Date()
        try await record.create(on: t.db)
    }

    @Test("create: 201 with the detail shape, computed hours and group count")
    func create() async throws {
        try await withApp { t in
            let (coordinador, token) = try await t.userWithToken(.coordinador)
            let mentor = try await t.makeMentor()
            let res = try await t.send(.POST, "/api/proyectos/", token: token, json: [
                "nombre": "Huerto escolar", "descripcion": "Verduras", "estado": "activo", "fecha_inicio": "2025-09-01",
                "fecha_fin": "2026-06-30", "horas_estimadas": 120.5, "coordinador": .int(Int64(try coordinador.requireID())),
                "mentores": [.int(Int64(try mentor.requireID()))],
            ])
            #expect(res.status == .created)
            #expect(res.json.objectKeys == ["id", "nombre", "descripcion", "estado", "fecha_inicio", "fecha_fin", "horas_estimadas",
                                            "coordinador", "mentores", "creado", "actualizado", "horas_registradas", "num_grupos"])
            #expect(res.json["horas_estimadas"] == .double(120.5))
            #expect(res.json["mentores"] == [.int(Int64(try mentor.requireID()))])
            #expect(res.json["horas_registradas"] == 0)
            #expect(res.json["num_grupos"] == 0)
            let id = try #require(res.json["id"].int)
            let project = try #require(try await Proyecto.find(id, on: t.db))
            try await Self.record(t, mentor: mentor, project: project, horas: 150, estado: .aprobado)
            try await Self.record(t, mentor: mentor, project: project, horas: 100, estado: .pendiente, inicio: 700)
            try await Grupo(proyectoID: id, nombre: "A").create(on: t.db)
            let detail = try await t.send(.GET, "/api/proyectos/\(id)/", token: token)
            #expect(detail.json["horas_registradas"] == .double(1.5))
            #expect(detail.json["num_grupos"] == 1)
        }
    }

    @Test("validation: dates, estado, hours with more than two decimals, unknown coordinator and mentors")
    func validation() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let mentorUser = try await t.makeUser(.mentor)
            let res = try await t.send(.POST, "/api/proyectos/", token: token, json: [
                "nombre": "X", "estado": "abierto", "fecha_inicio": "2026-05-10", "fecha_fin": "2026-05-01",
                "horas_estimadas": 1.234, "coordinador": .int(Int64(try mentorUser.requireID())), "mentores": [999],
            ])
            #expect(res.status == .badRequest)
            #expect(res.json == [
                "estado": ["\"abierto\" no es una elección válida."],
                "horas_estimadas": ["Asegúrese de que no haya más de 2 decimales."],
                "fecha_fin": ["La fecha de fin no puede ser anterior a la fecha de inicio."],
                "coordinador": ["El coordinador debe tener el rol coordinador o admin."],
                "mentores": ["Clave primaria \"999\" inválida - objeto no existe."],
            ])
            let negative = try await t.send(.POST, "/api/proyectos/", token: token, json: [
                "nombre": "Y", "fecha_inicio": "2026-13-01", "horas_estimadas": -1, "mentores": "1",
            ])
            #expect(negative.json.objectKeys == ["fecha_inicio", "horas_estimadas", "mentores"])
        }
    }

    @Test("mentors read only the projects they are assigned to; others are 404")
    func mentorScope() async throws {
        try await withApp { t in
            let (mentor, token) = try await t.mentorWithToken()
            let mine = try await t.makeProyecto("Mío", mentors: [mentor])
            let other = try await t.makeProyecto("Ajeno")
            let list = try await t.send(.GET, "/api/proyectos/", token: token)
            #expect(list.json["count"] == 1)
            #expect(list.json["results"][0]["nombre"] == "Mío")
            #expect(try await t.send(.GET, "/api/proyectos/\(try other.requireID())/", token: token).status == .notFound)
            #expect(try await t.send(.GET, "/api/proyectos/\(try other.requireID())/grupos/", token: token).status == .notFound)
            #expect(try await t.send(.GET, "/api/proyectos/\(try mine.requireID())/grupos/", token: token).status == .ok)
            #expect(try await t.send(.PATCH, "/api/proyectos/\(try mine.requireID())/", token: token, json: ["nombre": "Z"]).status == .forbidden)
            #expect(try await t.send(.PATCH, "/api/proyectos/\(try other.requireID())/", token: token, json: ["nombre": "Z"]).status == .notFound)
            #expect(try await t.send(.POST, "/api/proyectos/", token: token, json: ["nombre": "Z"]).status == .forbidden)
            let (_, loose) = try await t.userWithToken(.mentor)  // a mentor account without a profile sees nothing
            #expect(try await t.send(.GET, "/api/proyectos/", token: loose).json["count"] == 0)
        }
    }

    @Test("assign and unassign mentors; unassigning also leaves the project's groups")
    func assignment() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.coordinador)
            let mentor = try await t.makeMentor()
            let project = try await t.makeProyecto()
            let base = "/api/proyectos/\(try project.requireID())"
            let first = try await t.send(.POST, "\(base)/mentores/", token: token, json: ["mentor": .int(Int64(try mentor.requireID()))])
            #expect(first.status == .created)
            #expect(first.json["mentores"] == [.int(Int64(try mentor.requireID()))])
            #expect(try await t.send(.POST, "\(base)/mentores/", token: token, json: ["mentor": .int(Int64(try mentor.requireID()))]).status == .ok)
            #expect(try await t.send(.POST, "\(base)/mentores/", token: token, json: ["mentor": 4242]).json == ["mentor": ["Clave primaria \"4242\" inválida - objeto no existe."]])
            let group = try await t.send(.POST, "\(base)/grupos/", token: token, json: ["nombre": "1ºA", "mentores": [.int(Int64(try mentor.requireID()))]])
            #expect(group.status == .created)
            #expect(try await t.send(.DELETE, "\(base)/mentores/\(try mentor.requireID())/", token: token).status == .noContent)
            #expect(try await t.send(.DELETE, "\(base)/mentores/\(try mentor.requireID())/", token: token).status == .notFound)
            let after = try await t.send(.GET, "\(base)/grupos/\(group.json["id"].int ?? 0)/", token: token)
            #expect(after.json["mentores"] == [])
        }
    }

    @Test("grupos: names unique per project (case-insensitive), mentors must belong to the project")
    func groups() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let inside = try await t.makeMentor()
            let outside = try await t.makeMentor()
            let project = try await t.makeProyecto(mentors: [inside])
            let otherProject = try await t.makeProyecto("Otro")
            let base = "/api/proyectos/\(try project.requireID())/grupos/"
            let res = try await t.send(.POST, base, token: token, json: ["nombre": "Grupo A", "num_estudiantes": 25,
                                                                          "mentores": [.int(Int64(try inside.requireID()))]])
            #expect(res.status == .created)
            #expect(res.json.objectKeys == ["id", "proyecto", "nombre", "descripcion", "mentores", "num_estudiantes", "horarios"])
            #expect(res.json["horarios"] == [])
            let dup = try await t.send(.POST, base, token: token, json: ["nombre": "grupo a", "num_estudiantes": -1,
                                                                          "mentores": [.int(Int64(try outside.requireID()))]])
            #expect(dup.status == .badRequest)
            #expect(dup.json == [
                "nombre": ["Ya existe un grupo con este nombre en el proyecto."],
                "num_estudiantes": ["Asegúrese de que este valor es mayor o igual a 0."],
                "mentores": [.string("El mentor \(try outside.requireID()) no está asignado al proyecto.")],
            ])
            let elsewhere = try await t.send(.POST, "/api/proyectos/\(try otherProject.requireID())/grupos/", token: token, json: ["nombre": "Grupo A"])
            #expect(elsewhere.status == .created)
            let id = try #require(res.json["id"].int)
            #expect(try await t.send(.GET, "/api/proyectos/\(try otherProject.requireID())/grupos/\(id)/", token: token).status == .notFound)
            let patched = try await t.send(.PATCH, "\(base)\(id)/", token: token, json: ["num_estudiantes": 30])
            #expect(patched.json["num_estudiantes"] == 30)
            #expect(try await t.send(.GET, base, token: token).json["count"] == 1)
            #expect(try await t.send(.DELETE, "\(base)\(id)/", token: token).status == .noContent)
        }
    }

    @Test("filters and ordering; DELETE is 409 with hour records")
    func filtersAndDelete() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let mentor = try await t.makeMentor()
            let a = try await t.makeProyecto("Alfa", estado: .activo, mentors: [mentor], inicio: LocalDate(year: 2025, month: 3, day: 1)!)
            _ = try await t.makeProyecto("Beta", estado: .pausado, inicio: LocalDate(year: 2024, month: 1, day: 1)!)
            func names(_ query: String) async throws -> [String] {
                try await t.send(.GET, "/api/proyectos/?\(query)", token: token).json["results"].array.compactMap { $0["nombre"].string }
            }
            #expect(try await names("estado=pausado") == ["Beta"])
            #expect(try await names("mentor=\(try mentor.requireID())") == ["Alfa"])
            #expect(try await names("ordering=fecha_inicio") == ["Beta", "Alfa"])
            #expect(try await names("search=alf") == ["Alfa"])
            #expect(try await t.send(.GET, "/api/proyectos/?estado=abierto", token: token).status == .badRequest)
            try await Self.record(t, mentor: mentor, project: a, horas: 100, estado: .pendiente)
            let res = try await t.send(.DELETE, "/api/proyectos/\(try a.requireID())/", token: token)
            #expect(res.status == .conflict)
            #expect(res.json["code"] == "conflict")
        }
    }
}

import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Horarios")
struct HorarioTests {
    /// A coordinator's token, a project with two mentors, its groups A (both mentors) and B
    /// (the first only), C (nobody) and the active calendar 2025-26.
    struct Setup {
        let token: String
        let ana: Mentor, luis: Mentor
        let a: Grupo, b: Grupo, c: Grupo
        let curso: CalendarioAcademico
    }

    static func setUp(_ t: TestApp) async throws -> Setup {
        let (_, token) = try await t.userWithToken(.coordinador)
        let ana = try await t.makeMentor("Ana")
        let luis = try await t.makeMentor("Luis")
        let project = try await t.makeProyecto(mentors: [ana, luis])
        return Setup(token: token, ana: ana, luis: luis,
                     a: try await t.makeGrupo("A", proyecto: project, mentors: [ana, luis]),
                     b: try await t.makeGrupo("B", proyecto: project, mentors: [ana]),
                     c: try await t.makeGrupo("C", proyecto: project),
                     curso: try await t.makeCalendario())
    }

    static func slot(_ grupo: Grupo, _ calendario: CalendarioAcademico, dia: Int = 0, _ inicio: String, _ fin: String,
                     aula: String = "") throws -> JSONValue {
        ["grupo": .int(Int64(try grupo.requireID())), "calendario": .int(Int64(try calendario.requireID())),
         "dia_semana": .int(Int64(dia)), "hora_inicio": .string(inicio), "hora_fin": .string(fin), "aula": .string(aula)]
    }

    @Test("the project's group list: each group's mentors by id and slots by day, start and id; none of another group's")
    func listedWithGroups() async throws {
        try await withApp { t in
            let s = try await Self.setUp(t)
            var ids: [String: Int] = [:]
            for (name, group, dia, inicio, fin) in [("late", s.a, 1, "12:00", "13:00"), ("monday", s.a, 0, "10:00", "11:00"),
                                                    ("early", s.a, 1, "08:00", "09:00"), ("b", s.b, 0, "09:00", "10:00")] {
                let res = try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(group, s.curso, dia: dia, inicio, fin))
                #expect(res.status == .created)
                ids[name] = try #require(res.json["id"].int)
            }
            let page = try await t.send(.GET, "/api/proyectos/\(s.a.$proyecto.id)/grupos/", token: s.token)
            #expect(page.status == .ok)
            #expect(page.json["count"] == 3)
            let results = try #require(page.json["results"].array)
            #expect(results.map { $0["nombre"] } == ["A", "B", "C"])
            let mentors = [try s.ana.requireID(), try s.luis.requireID()].sorted().map { JSONValue.int(Int64($0)) }
            #expect(results[0]["mentores"] == .array(mentors))
            #expect(results[0]["horarios"].array.map { $0["id"] } == ["monday", "early", "late"].map { .int(Int64(ids[$0]!)) })
            #expect(results[1]["mentores"] == [.int(Int64(try s.ana.requireID()))])
            #expect(results[1]["horarios"].array.map { $0["id"] } == [.int(Int64(ids["b"]!))])
            #expect(results[2]["mentores"] == [] && results[2]["horarios"] == [])
            // The list shows what each group's own detail shows.
            let detail = try await t.send(.GET, "/api/proyectos/\(s.a.$proyecto.id)/grupos/\(try s.a.requireID())/", token: s.token)
            #expect(detail.json == results[0])
        }
    }

    @Test("create: 201 with the slot's representation; the group lists its slots read-only")
    func create() async throws {
        try await withApp { t in
            let s = try await Self.setUp(t)
            let res = try await t.send(.POST, "/api/horarios/", token: s.token, json: [
                "grupo": .int(Int64(try s.a.requireID())), "calendario": .int(Int64(try s.curso.requireID())),
                "dia_semana": 2, "hora_inicio": "09:00:00", "hora_fin": "10:30", "aula": "  Aula 3  ",
            ])
            #expect(res.status == .created)
            let id = try #require(res.json["id"].int)
            let expected: JSONValue = [
                "id": .int(Int64(id)), "grupo": .int(Int64(try s.a.requireID())), "calendario": .int(Int64(try s.curso.requireID())),
                "dia_semana": 2, "hora_inicio": "09:00", "hora_fin": "10:30", "aula": "Aula 3",
            ]
            #expect(res.json == expected)
            #expect(try await t.send(.GET, "/api/horarios/\(id)/", token: s.token).json == expected)
            let group = try await t.send(.GET, "/api/proyectos/\(s.a.$proyecto.id)/grupos/\(try s.a.requireID())/", token: s.token)
            #expect(group.json["horarios"] == [expected])
            // Read-only there: a group write does not touch its slots.
            let patched = try await t.send(.PATCH, "/api/proyectos/\(s.a.$proyecto.id)/grupos/\(try s.a.requireID())/", token: s.token,
                                           json: ["horarios": []])
            #expect(patched.json["horarios"] == [expected])

            let noAula = try await t.send(.POST, "/api/horarios/", token: s.token, json: [
                "grupo": .int(Int64(try s.a.requireID())), "calendario": .int(Int64(try s.curso.requireID())),
                "dia_semana": 3, "hora_inicio": "16:00", "hora_fin": "24:00",
            ])
            #expect(noAula.status == .created)
            #expect(noAula.json["aula"] == "")
            #expect(noAula.json["hora_fin"] == "24:00")
        }
    }

    @Test("validation: unknown ids, bad times and days, wrong types, end not after start")
    func validation() async throws {
        try await withApp { t in
            let s = try await Self.setUp(t)
            let bad = try await t.send(.POST, "/api/horarios/", token: s.token, json: [
                "grupo": 9999, "calendario": "x", "dia_semana": 7, "hora_inicio": "25:00", "hora_fin": "9:00",
                "aula": .string(String(repeating: "a", count: 101)),
            ])
            #expect(bad.status == .badRequest)
            #expect(bad.json == [
                "grupo": ["Clave primaria \"9999\" inválida - objeto no existe."],
                "calendario": ["Clave primaria \"x\" inválida - objeto no existe."],
                "dia_semana": ["Asegúrese de que este valor es menor o igual a 6."],
                "hora_inicio": [.string(TimeOfDay.formatError)],
                "hora_fin": [.string(TimeOfDay.formatError)],
                "aula": ["Asegúrese de que este campo no tenga más de 100 caracteres."],
            ])
            let types = try await t.send(.POST, "/api/horarios/", token: s.token, json: [
                "grupo": [1], "calendario": 1.5, "dia_semana": "lunes", "hora_inicio": 900, "hora_fin": nil,
            ])
            #expect(types.json == [
                "grupo": ["Tipo incorrecto. Se esperaba valor de clave primaria y se recibió list."],
                "calendario": ["Tipo incorrecto. Se esperaba valor de clave primaria y se recibió float."],
                "dia_semana": ["Introduzca un número entero válido."],
                "hora_inicio": [.string(TimeOfDay.formatError)],
                "hora_fin": ["Este campo no puede ser nulo."],
            ])
            let reversed = try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.a, s.curso, "10:00", "10:00"))
            #expect(reversed.json == ["hora_fin": ["La hora de fin debe ser posterior a la hora de inicio."]])
            let missing = try await t.send(.POST, "/api/horarios/", token: s.token, json: [:])
            #expect(missing.json.objectKeys == ["grupo", "calendario", "dia_semana", "hora_inicio", "hora_fin"])
            #expect(try await Horario.query(on: t.db).count() == 0)

            // PATCH checks the merged times; unknown path ids are 404.
            let slot = try await t.makeHorario(grupo: s.a, calendario: s.curso, inicio: "09:00", fin: "11:00")
            let patch = try await t.send(.PATCH, "/api/horarios/\(try slot.requireID())/", token: s.token, json: ["hora_inicio": "12:00"])
            #expect(patch.json == ["hora_fin": ["La hora de fin debe ser posterior a la hora de inicio."]])
            for missingPath in ["/api/horarios/4242/", "/api/horarios/99999999999999999999/", "/api/horarios/-1/"] {
                #expect(try await t.send(.PATCH, missingPath, token: s.token, json: ["aula": "x"]).status == .notFound)
            }
        }
    }

    @Test("slots of one group may not overlap; touching slots, other days and disjoint calendars may")
    func groupOverlap() async throws {
        try await withApp { t in
            let s = try await Self.setUp(t)
            let first = try await t.makeHorario(grupo: s.a, calendario: s.curso, dia: 0, inicio: "09:00", fin: "11:00")
            let clash = try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.a, s.curso, "10:30", "12:00"))
            #expect(clash.status == .badRequest)
            #expect(clash.json == ["non_field_errors": [
                .string("El grupo ya tiene una clase que se solapa: lunes 09:00–11:00 (horario \(try first.requireID())).")]])
            let inside = try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.a, s.curso, "09:30", "10:00"))
            #expect(inside.status == .badRequest)

            #expect(try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.a, s.curso, "11:00", "12:00")).status == .created)
            #expect(try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.a, s.curso, dia: 1, "09:00", "11:00")).status == .created)
            let summer = try await t.makeCalendario("Verano", inicio: "2026-07-01", fin: "2026-08-31")
            #expect(try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.a, summer, "09:00", "11:00")).status == .created)
            // An inactive calendar whose dates intersect still counts: activating it must not create a clash.
            let draft = try await t.makeCalendario("Borrador", inicio: "2026-01-01", fin: "2026-03-31", activo: false)
            #expect(try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.a, draft, "08:00", "09:30")).status == .badRequest)

            // Editing a slot does not clash with itself, but moving it onto another does.
            let path = "/api/horarios/\(try first.requireID())/"
            #expect(try await t.send(.PATCH, path, token: s.token, json: ["hora_fin": "10:00", "aula": "B"]).json["hora_fin"] == "10:00")
            let moved = try await t.send(.PUT, path, token: s.token, json: try Self.slot(s.a, s.curso, dia: 1, "10:00", "10:30"))
            #expect(moved.status == .badRequest)
            #expect(moved.json["non_field_errors"][0].string?.hasPrefix("El grupo ya tiene una clase que se solapa: martes 09:00–11:00") == true)
        }
    }

    @Test("a mentor may not teach two overlapping slots in different groups")
    func mentorOverlap() async throws {
        try await withApp { t in
            let s = try await Self.setUp(t)
            let inA = try await t.makeHorario(grupo: s.a, calendario: s.curso, dia: 4, inicio: "16:00", fin: "18:00")
            // B shares Ana with A.
            let clash = try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.b, s.curso, dia: 4, "17:00", "19:00"))
            #expect(clash.status == .badRequest)
            #expect(clash.json == ["non_field_errors": [.string(
                "El mentor \(try s.ana.requireID()) ya tiene una clase que se solapa en el grupo \(try s.a.requireID()): viernes 16:00–18:00 (horario \(try inA.requireID())).")]])
            // C has no mentors: no clash.
            let free = try await t.send(.POST, "/api/horarios/", token: s.token, json: try Self.slot(s.c, s.curso, dia: 4, "17:00", "19:00"))
            #expect(free.status == .created)

            // Giving C a mentor who teaches A at that time is refused, naming the mentor; another is fine.
            let groupPath = "/api/proyectos/\(s.c.$proyecto.id)/grupos/\(try s.c.requireID())/"
            let assign = try await t.send(.PATCH, groupPath, token: s.token, json: ["mentores": [.int(Int64(try s.luis.requireID()))]])
            #expect(assign.status == .badRequest)
            #expect(assign.json == ["mentores": [.string(
                "El mentor \(try s.luis.requireID()) ya tiene una clase que se solapa en el grupo \(try s.a.requireID()): viernes 16:00–18:00 (horario \(try inA.requireID())), con viernes 17:00–19:00 (horario \(free.json["id"].int ?? 0)) de este grupo.")]])
            #expect(try await GrupoMentor.query(on: t.db).filter(\.$grupo.$id == (try s.c.requireID())).count() == 0)
            try await inA.delete(on: t.db)
            #expect(try await t.send(.PATCH, groupPath, token: s.token, json: ["mentores": [.int(Int64(try s.luis.requireID()))]]).status == .ok)
        }
    }

    @Test("moving a calendar so that its slots collide with another calendar's is 400")
    func calendarMove() async throws {
        try await withApp { t in
            let s = try await Self.setUp(t)
            let spring = try await t.makeCalendario("Primavera", inicio: "2026-07-01", fin: "2026-08-31", activo: false)
            let first = try await t.makeHorario(grupo: s.a, calendario: s.curso, dia: 0, inicio: "09:00", fin: "11:00")
            let second = try await t.makeHorario(grupo: s.b, calendario: spring, dia: 0, inicio: "10:00", fin: "12:00")
            let path = "/api/calendarios/\(try spring.requireID())/"
            let res = try await t.send(.PATCH, path, token: s.token, json: ["fecha_inicio": "2026-06-01"])
            #expect(res.status == .badRequest)
            #expect(res.json == ["non_field_errors": [.string(
                "Con estas fechas, el mentor \(try s.ana.requireID()) tendría dos clases solapadas: lunes 10:00–12:00 (horario \(try second.requireID())) y lunes 09:00–11:00 (horario \(try first.requireID())).")]])
            #expect(try await t.send(.PATCH, path, token: s.token, json: ["fecha_fin": "2026-09-30"]).status == .ok)
        }
    }

    @Test("concurrent overlapping creates, in one group or sharing a mentor: exactly one 201")
    func concurrentCreates() async throws {
        try await withApp(["THROTTLE_USER": "None"]) { t in
            let s = try await Self.setUp(t)
            let bodies = [try Self.slot(s.a, s.curso, "09:00", "10:00"), try Self.slot(s.b, s.curso, "09:30", "10:30"),
                          try Self.slot(s.a, s.curso, "09:15", "09:45"), try Self.slot(s.b, s.curso, "08:30", "09:45")]
            let responses = try await t.concurrently(8, .POST, "/api/horarios/", token: s.token) { bodies[$0 % bodies.count] }
            #expect(responses.map(\.status.code).sorted() == [201, 400, 400, 400, 400, 400, 400, 400])
            for loser in responses where loser.status == .badRequest {
                #expect(loser.body["non_field_errors"].array.count == 1)
            }
            #expect(try await Horario.query(on: t.db).count() == 1)
        }
    }

    @Test("filters grupo, mentor and calendario; mentors read and get 403 writing")
    func filtersAndPermissions() async throws {
        try await withApp { t in
            let s = try await Self.setUp(t)
            let summer = try await t.makeCalendario("Verano", inicio: "2026-07-01", fin: "2026-08-31")
            let a = try await t.makeHorario(grupo: s.a, calendario: s.curso, dia: 1, inicio: "09:00", fin: "10:00")
            let b = try await t.makeHorario(grupo: s.b, calendario: s.curso, dia: 0, inicio: "12:00", fin: "13:00")
            let c = try await t.makeHorario(grupo: s.c, calendario: summer, dia: 0, inicio: "09:00", fin: "10:00")
            func ids(_ query: String) async throws -> [Int] {
                try await t.send(.GET, "/api/horarios/?\(query)", token: s.token).json["results"].array.compactMap { $0["id"].int }
            }
            let (ida, idb, idc) = (try a.requireID(), try b.requireID(), try c.requireID())
            #expect(try await ids("") == [idc, idb, ida])  // by day, then time
            #expect(try await ids("grupo=\(try s.a.requireID())") == [ida])
            #expect(try await ids("mentor=\(try s.ana.requireID())") == [idb, ida])
            #expect(try await ids("mentor=\(try s.luis.requireID())") == [ida])
            #expect(try await ids("calendario=\(try summer.requireID())") == [idc])
            #expect(try await ids("mentor=4242") == [])
            let bad = try await t.send(.GET, "/api/horarios/?grupo=x&mentor=-1&calendario=99999999999", token: s.token)
            #expect(bad.status == .badRequest)
            let choice = "Escoja una opción válida. Esa opción no está entre las disponibles."
            #expect(bad.json == ["grupo": [.string(choice)], "mentor": [.string(choice)], "calendario": [.string(choice)]])

            let (_, mentorToken) = try await t.mentorWithToken()
            #expect(try await t.send(.GET, "/api/horarios/", token: mentorToken).json["count"] == 3)
            #expect(try await t.send(.GET, "/api/horarios/\(ida)/", token: mentorToken).status == .ok)
            let writes: [(HTTPMethod, String, JSONValue?)] = [
                (.POST, "/api/horarios/", try Self.slot(s.c, s.curso, "18:00", "19:00")),
                (.PUT, "/api/horarios/\(ida)/", try Self.slot(s.a, s.curso, "18:00", "19:00")),
                (.PATCH, "/api/horarios/\(ida)/", ["aula": "X"]), (.DELETE, "/api/horarios/\(ida)/", nil),
            ]
            for (method, path, body) in writes {
                #expect(try await t.send(method, path, token: mentorToken, json: body).status == .forbidden, "\(method) \(path)")
            }
            #expect(try await t.send(.DELETE, "/api/horarios/\(ida)/", token: s.token).status == .noContent)
            #expect(try await t.send(.GET, "/api/horarios/\(ida)/", token: s.token).status == .notFound)
        }
    }
}

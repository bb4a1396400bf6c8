import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Calendarios, días no lectivos and días hábiles")
struct CalendarioTests {
    @Test("create: 201 with the detail shape, lunes–viernes and activo by default")
    func create() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.coordinador)
            let res = try await t.send(.POST, "/api/calendarios/", token: token, json: [
                "nombre": "Curso 2025-26", "fecha_inicio": "2025-09-01", "fecha_fin": "2026-06-30",
            ])
            #expect(res.status == .created)
            let id = try #require(res.json["id"].int)
            #expect(res.json == [
                "id": .int(Int64(id)), "nombre": "Curso 2025-26", "fecha_inicio": "2025-09-01", "fecha_fin": "2026-06-30",
                "dias_habiles": [0, 1, 2, 3, 4], "activo": true,
            ])
            #expect(try await t.send(.GET, "/api/calendarios/\(id)/", token: token).json == res.json)
            let list = try await t.send(.GET, "/api/calendarios/", token: token)
            #expect(list.json == ["count": 1, "next": nil, "previous": nil, "results": [res.json]])

            let patched = try await t.send(.PATCH, "/api/calendarios/\(id)/", token: token, json: ["dias_habiles": [5, "2", 0]])
            #expect(patched.status == .ok)
            #expect(patched.json["dias_habiles"] == [0, 2, 5])
            let put = try await t.send(.PUT, "/api/calendarios/\(id)/", token: token, json: ["nombre": "Solo nombre"])
            #expect(put.json == ["fecha_inicio": ["Este campo es requerido."], "fecha_fin": ["Este campo es requerido."]])
            #expect(try await t.send(.DELETE, "/api/calendarios/\(id)/", token: token).status == .noContent)
            #expect(try await t.send(.GET, "/api/calendarios/\(id)/", token: token).status == .notFound)
        }
    }

    @Test("validation: every invalid field at once, with DRF's messages")
    func validation() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let bad = try await t.send(.POST, "/api/calendarios/", token: token, json: [
                "nombre": "", "fecha_inicio": "2026-02-30", "fecha_fin": "30/06/2026", "dias_habiles": [1, 7, 1, "x", -1], "activo": "quizás",
            ])
            #expect(bad.status == .badRequest)
            #expect(bad.json == [
                "nombre": ["Este campo no puede estar en blanco."],
                "fecha_inicio": [.string(LocalDate.formatError)],
                "fecha_fin": [.string(LocalDate.formatError)],
                "dias_habiles": [
                    "\"7\" no es un día válido: use 0 (lunes) a 6 (domingo).", "El día 1 está repetido.",
                    "\"x\" no es un día válido: use 0 (lunes) a 6 (domingo).", "\"-1\" no es un día válido: use 0 (lunes) a 6 (domingo).",
                ],
                "activo": ["Debe ser un booleano válido."],
            ])
            let reversed = try await t.send(.POST, "/api/calendarios/", token: token, json: [
                "nombre": "Al revés", "fecha_inicio": "2026-06-30", "fecha_fin": "2025-09-01",
            ])
            #expect(reversed.json == ["fecha_fin": ["La fecha de fin no puede ser anterior a la fecha de inicio."]])
            let notList = try await t.send(.POST, "/api/calendarios/", token: token, json: [
                "nombre": "X", "fecha_inicio": "2025-09-01", "fecha_fin": "2025-09-02", "dias_habiles": "0,1,2",
            ])
            #expect(notList.json == ["dias_habiles": ["Se esperaba una lista de elementos en vez del tipo \"str\"."]])
            let empty = try await t.send(.POST, "/api/calendarios/", token: token, json: [
                "nombre": "X", "fecha_inicio": "2025-09-01", "fecha_fin": "2025-09-02", "dias_habiles": [],
            ])
            #expect(empty.json == ["dias_habiles": ["Esta lista no puede estar vacía."]])
            let missing = try await t.send(.POST, "/api/calendarios/", token: token, json: [:])
            #expect(missing.json == ["nombre": ["Este campo es requerido."], "fecha_inicio": ["Este campo es requerido."],
                                     "fecha_fin": ["Este campo es requerido."]])
            // A PATCH is checked against the stored dates.
            let calendar = try await t.makeCalendario()
            let patch = try await t.send(.PATCH, "/api/calendarios/\(try calendar.requireID())/", token: token,
                                         json: ["fecha_fin": "2025-08-31"])
            #expect(patch.json == ["fecha_fin": ["La fecha de fin no puede ser anterior a la fecha de inicio."]])
            #expect(try await CalendarioAcademico.query(on: t.db).count() == 1)
        }
    }

    @Test("two active calendars may not overlap: on create, on activation and on moving one")
    func activeOverlap() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.makeCalendario("Curso 2025-26", inicio: "2025-09-01", fin: "2026-06-30")
            let message: JSONValue = ["non_field_errors": [
                "Las fechas se solapan con el calendario activo \"Curso 2025-26\" (2025-09-01 a 2026-06-30).",
            ]]
            let body: JSONValue = ["nombre": "Verano", "fecha_inicio": "2026-06-30", "fecha_fin": "2026-08-31"]
            let clash = try await t.send(.POST, "/api/calendarios/", token: token, json: body)
            #expect(clash.status == .badRequest)
            #expect(clash.json == message)

            let inactive = try await t.send(.POST, "/api/calendarios/", token: token, json: [
                "nombre": "Verano", "fecha_inicio": "2026-06-30", "fecha_fin": "2026-08-31", "activo": false,
            ])
            #expect(inactive.status == .created)
            let summer = try #require(inactive.json["id"].int)
            let activate = try await t.send(.PATCH, "/api/calendarios/\(summer)/", token: token, json: ["activo": true])
            #expect(activate.json == message)

            let moved = try await t.send(.PATCH, "/api/calendarios/\(summer)/", token: token, json: ["fecha_inicio": "2026-07-01"])
            #expect(moved.status == .ok)
            #expect(try await t.send(.PATCH, "/api/calendarios/\(summer)/", token: token, json: ["activo": true]).json["activo"] == true)
            let back = try await t.send(.PATCH, "/api/calendarios/\(summer)/", token: token, json: ["fecha_inicio": "2026-06-15"])
            #expect(back.json == message)
            // Editing an active calendar never clashes with itself.
            #expect(try await t.send(.PATCH, "/api/calendarios/\(summer)/", token: token, json: ["fecha_fin": "2026-09-10"]).status == .ok)
        }
    }

    @Test("filters activo, search nombre, ordering nombre and fecha_inicio; an invalid filter is 400")
    func filters() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.makeCalendario("Curso 2024-25", inicio: "2024-09-01", fin: "2025-06-30", activo: false)
            try await t.makeCalendario("Curso 2025-26", inicio: "2025-09-01", fin: "2026-06-30")
            try await t.makeCalendario("Academia de verano", inicio: "2026-07-01", fin: "2026-08-31")
            func names(_ query: String) async throws -> [String] {
                try await t.send(.GET, "/api/calendarios/?\(query)", token: token).json["results"].array.compactMap { $0["nombre"].string }
            }
            #expect(try await names("") == ["Academia de verano", "Curso 2025-26", "Curso 2024-25"])
            #expect(try await names("ordering=nombre") == ["Academia de verano", "Curso 2024-25", "Curso 2025-26"])
            #expect(try await names("ordering=fecha_inicio") == ["Curso 2024-25", "Curso 2025-26", "Academia de verano"])
            #expect(try await names("activo=false") == ["Curso 2024-25"])
            #expect(try await names("search=CURSO&ordering=-nombre") == ["Curso 2025-26", "Curso 2024-25"])
            let bad = try await t.send(.GET, "/api/calendarios/?activo=quiz%C3%A1s", token: token)
            #expect(bad.status == .badRequest)
            #expect(bad.json == ["activo": ["Debe ser un booleano válido."]])
        }
    }

    @Test("mentors read calendars, holidays and business days, and get 403 writing")
    func mentorPermissions() async throws {
        try await withApp { t in
            let (_, token) = try await t.mentorWithToken()
            let calendar = try await t.makeCalendario()
            let path = "/api/calendarios/\(try calendar.requireID())/"
            #expect(try await t.send(.GET, "/api/calendarios/", token: token).json["count"] == 1)
            #expect(try await t.send(.GET, path, token: token).status == .ok)
            #expect(try await t.send(.GET, "\(path)dias-no-lectivos/", token: token).status == .ok)
            #expect(try await t.send(.GET, "\(path)dias-habiles/?desde=2025-09-01&hasta=2025-09-07", token: token).json["total"] == 5)
            let writes: [(HTTPMethod, String, JSONValue?)] = [
                (HTTPMethod.POST, "/api/calendarios/", ["nombre": "X"] as JSONValue), (.PATCH, path, ["nombre": "X"]),
                (.PUT, path, ["nombre": "X"]), (.DELETE, path, nil), (.POST, "\(path)dias-no-lectivos/", ["fecha": "2025-10-12"]),
            ]
            for (method, target, body) in writes {
                let res = try await t.send(method, target, token: token, json: body)
                #expect(res.status == .forbidden, "\(method) \(target)")
                #expect(res.json == ["detail": "Usted no tiene permiso para realizar esta acción.", "code": "permission_denied"])
            }
            for missing in ["/api/calendarios/4242/", "/api/calendarios/99999999999999999999/", "/api/calendarios/abc/dias-habiles/"] {
                #expect(try await t.send(.GET, missing, token: token).json == ["detail": "No encontrado.", "code": "not_found"])
            }
            #expect(try await t.send(.GET, "/api/calendarios/").status == .unauthorized)
        }
    }

    @Test("días no lectivos: inside the calendar, each date once; list, detail and delete")
    func holidays() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.coordinador)
            let calendar = try await t.makeCalendario()
            let other = try await t.makeCalendario("Otro", inicio: "2020-01-01", fin: "2020-12-31", activo: false)
            let base = "/api/calendarios/\(try calendar.requireID())/dias-no-lectivos/"
            let created = try await t.send(.POST, base, token: token, json: ["fecha": "2025-12-08", "descripcion": "Inmaculada"])
            #expect(created.status == .created)
            let id = try #require(created.json["id"].int)
            #expect(created.json == ["id": .int(Int64(id)), "fecha": "2025-12-08", "descripcion": "Inmaculada"])
            try await t.send(.POST, base, token: token, json: ["fecha": "2025-10-12"])

            let repeated = try await t.send(.POST, base, token: token, json: ["fecha": "2025-12-08", "descripcion": "Otra vez"])
            #expect(repeated.status == .badRequest)
            #expect(repeated.json == ["fecha": ["Ya existe un día no lectivo con esta fecha en el calendario."]])
            let outside = try await t.send(.POST, base, token: token, json: ["fecha": "2026-07-01"])
            #expect(outside.json == ["fecha": ["La fecha está fuera del calendario (2025-09-01 a 2026-06-30)."]])
            let invalid = try await t.send(.POST, base, token: token, json: ["fecha": "2026-02-30", "descripcion": 5])
            #expect(invalid.json == ["fecha": [.string(LocalDate.formatError)]])
            let wrongType = try await t.send(.POST, base, token: token, json: ["fecha": 20251208, "descripcion": ["x"]])
            #expect(wrongType.json == ["fecha": [.string(LocalDate.formatError)], "descripcion": ["No es una cadena válida."]])

            let list = try await t.send(.GET, base, token: token)
            #expect(list.json["count"] == 2)
            #expect(list.json["results"].array.compactMap { $0["fecha"].string } == ["2025-10-12", "2025-12-08"])
            #expect(list.json["results"][0]["descripcion"] == "")
            #expect(try await t.send(.GET, "\(base)\(id)/", token: token).json == created.json)
            let elsewhere = "/api/calendarios/\(try other.requireID())/dias-no-lectivos/\(id)/"
            #expect(try await t.send(.GET, elsewhere, token: token).status == .notFound)
            #expect(try await t.send(.DELETE, elsewhere, token: token).status == .notFound)
            #expect(try await t.send(.GET, "/api/calendarios/4242/dias-no-lectivos/", token: token).status == .notFound)
            #expect(try await t.send(.DELETE, "\(base)\(id)/", token: token).status == .noContent)
            #expect(try await t.send(.GET, "\(base)\(id)/", token: token).status == .notFound)
            #expect(try await t.send(.PATCH, "\(base)\(id)/", token: token, json: ["fecha": "2025-12-09"]).status == .methodNotAllowed)
        }
    }

    @Test("días hábiles: weekdays of the calendar inside it and not holidays; desde/hasta echoed")
    func businessDays() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let calendar = try await t.makeCalendario("Marzo", inicio: "2026-03-02", fin: "2026-03-31", dias: [0, 2, 4])
            try await DiaNoLectivo(calendarioID: try calendar.requireID(), fecha: LocalDate("2026-03-04")!, descripcion: "").create(on: t.db)
            let path = "/api/calendarios/\(try calendar.requireID())/dias-habiles/"
            // 2026-03-01 is a Sunday, before the calendar starts; Wednesday the 4th is a holiday.
            let res = try await t.send(.GET, "\(path)?desde=2026-03-01&hasta=2026-03-10", token: token)
            #expect(res.status == .ok)
            #expect(res.json == ["desde": "2026-03-01", "hasta": "2026-03-10", "total": 3,
                                 "dias": ["2026-03-02", "2026-03-06", "2026-03-09"]])
            let single = try await t.send(.GET, "\(path)?desde=2026-03-31&hasta=2026-03-31", token: token)
            #expect(single.json == ["desde": "2026-03-31", "hasta": "2026-03-31", "total": 0, "dias": []])
            let year = try await t.send(.GET, "\(path)?desde=2026-01-01&hasta=2027-01-01", token: token)  // 366 days
            #expect(year.json["total"] == 12)
        }
    }

    @Test("días hábiles: desde and hasta required, valid, ordered and at most 366 days apart")
    func businessDaysValidation() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let calendar = try await t.makeCalendario()
            let path = "/api/calendarios/\(try calendar.requireID())/dias-habiles/"
            let cases: [(String, JSONValue)] = [
                ("", ["desde": ["Este campo es requerido."], "hasta": ["Este campo es requerido."]]),
                ("?desde=2026-02-30&hasta=ma%C3%B1ana", ["desde": ["Introduzca una fecha válida."], "hasta": ["Introduzca una fecha válida."]]),
                ("?desde=2026-01-01", ["hasta": ["Este campo es requerido."]]),
                ("?desde=2026-03-10&hasta=2026-03-09", ["hasta": ["La fecha hasta no puede ser anterior a desde."]]),
                ("?desde=2026-01-01&hasta=2027-01-02", ["hasta": ["El rango de fechas no puede superar 366 días."]]),
                ("?desde=0001-01-01&hasta=9999-12-31", ["hasta": ["El rango de fechas no puede superar 366 días."]]),
            ]
            for (query, expected) in cases {
                let res = try await t.send(.GET, path + query, token: token)
                #expect(res.status == .badRequest, "\(query)")
                #expect(res.json == expected, "\(query)")
            }
        }
    }
}

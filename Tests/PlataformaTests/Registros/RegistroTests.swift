import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

/// A mentor with an account, assigned to an active project, ready to log hours.
struct HoursSetup {
    let mentor: Mentor
    let token: String
    let project: Proyecto
    var projectID: JSONValue { .int(Int64(project.id ?? 0)) }

    static func make(_ t: TestApp) async throws -> HoursSetup {
        let (mentor, token) = try await t.mentorWithToken()
        let project = try await t.makeProyecto(mentors: [mentor])
        return HoursSetup(mentor: mentor, token: token, project: project)
    }

    /// `fecha` defaults to a past Monday with no calendar covering it.
    func body(_ inicio: String = "09:00", _ fin: String = "10:30", fecha: String = "2025-03-03") -> JSONValue {
        ["proyecto": projectID, "fecha": .string(fecha), "hora_inicio": .string(inicio), "hora_fin": .string(fin),
         "descripcion": "Taller de robótica"]
    }
}

@Suite("Registro de horas")
struct RegistroTests {
    @Test("a mentor logs hours on an assigned active project: 201, horas computed, pendiente")
    func create() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let res = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("09:00", "10:20"))
            #expect(res.status == .created)
            #expect(res.json.objectKeys == ["id", "mentor", "proyecto", "grupo", "fecha", "hora_inicio", "hora_fin", "horas",
                                            "descripcion", "estado", "revisado_por", "fecha_revision", "motivo_rechazo", "creado"])
            #expect(res.json["mentor"].int == s.mentor.id)
            #expect(res.json["horas"] == .double(1.33))
            #expect(res.json["hora_fin"] == "10:20")
            #expect(res.json["estado"] == "pendiente")
            #expect(res.json["grupo"].isNull && res.json["revisado_por"].isNull)
            let id = try #require(res.json["id"].int)
            #expect(try await t.send(.GET, "/api/registro-horas/\(id)/", token: s.token).json == res.json)
        }
    }

    @Test("each rule is a 400 on its field")
    func rules() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let idle = try await t.makeProyecto("Pausado", estado: .pausado, mentors: [s.mentor])
            let foreign = try await t.makeProyecto("Ajeno")
            let otherGroup = Grupo(proyectoID: try foreign.requireID(), nombre: "G")
            try await otherGroup.create(on: t.db)
            let calendar = CalendarioAcademico(nombre: "Curso 24-25", inicio: LocalDate("2024-09-01")!, fin: LocalDate("2025-06-30")!)
            try await calendar.create(on: t.db)
            try await DiaNoLectivo(calendarioID: try calendar.requireID(), fecha: LocalDate("2025-03-04")!, descripcion: "Fiesta").create(on: t.db)
            func post(_ json: JSONValue) async throws -> JSONValue {
                let res = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: json)
                #expect(res.status == .badRequest, "\(json)")
                return res.json
            }
            #expect(try await post(s.body("10:00", "10:00")) == ["hora_fin": ["La hora de fin debe ser posterior a la hora de inicio."]])
            #expect(try await post(s.body(fecha: "2999-01-01")) == ["fecha": ["La fecha no puede ser futura."]])
            #expect(try await post(s.body(fecha: "2025-03-04")) == ["fecha": ["La fecha no es un día hábil del calendario «Curso 24-25»."]])
            #expect(try await post(s.body(fecha: "2025-03-08")) == ["fecha": ["La fecha no es un día hábil del calendario «Curso 24-25»."]])
            var idleBody = s.body(); if case .object(var o) = idleBody { o["proyecto"] = .int(Int64(try idle.requireID())); idleBody = .object(o) }
            #expect(try await post(idleBody) == ["proyecto": ["El proyecto no está activo."]])
            var foreignBody = s.body(); if case .object(var o) = foreignBody { o["proyecto"] = .int(Int64(try foreign.requireID())); foreignBody = .object(o) }
            #expect(try await post(foreignBody) == ["proyecto": ["El mentor no está asignado a este proyecto."]])
            var groupBody = s.body(); if case .object(var o) = groupBody { o["grupo"] = .int(Int64(try otherGroup.requireID())); groupBody = .object(o) }
            #expect(try await post(groupBody) == ["grupo": ["El grupo no pertenece al proyecto."]])
            let malformed = try await post(["proyecto": "x", "fecha": "2026-02-30", "hora_inicio": "25:00", "hora_fin": 9, "descripcion": ["a"]])
            #expect(malformed.objectKeys == ["proyecto", "fecha", "hora_inicio", "hora_fin", "descripcion"])
            #expect(try await post([:]).objectKeys == ["proyecto", "fecha", "hora_inicio", "hora_fin"])
            #expect(try await RegistroHoras.query(on: t.db).count() == 0)
            // A business day of that calendar is fine.
            #expect(try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(fecha: "2025-03-05")).status == .created)
        }
    }

    @Test("overlapping records of one mentor on one day are refused; touching ones and rejected ones are not")
    func overlap() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            #expect(try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("09:00", "11:00")).status == .created)
            let clash = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("10:30", "12:00"))
            #expect(clash.status == .badRequest)
            #expect(clash.json == ["non_field_errors": ["Se solapa con otro registro del mismo día (09:00–11:00)."]])
            #expect(try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("11:00", "12:00")).status == .created)
            #expect(try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("10:00", "11:00", fecha: "2025-03-05")).status == .created)
            try await RegistroHoras.query(on: t.db).filter(\.$horaInicio == 540).set(\.$estado, to: .rechazado).update()
            #expect(try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("09:30", "10:30")).status == .created)
        }
    }

    @Test("10 concurrent overlapping POSTs for one mentor create exactly one record")
    func concurrentOverlap() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let responses = try await t.concurrently(10, .POST, "/api/registro-horas/", token: s.token) { index in
                s.body(String(format: "09:%02d", index), "10:30")
            }
            #expect(responses.filter { $0.status == .created }.count == 1)
            #expect(responses.filter { $0.status == .badRequest }.count == 9, "\(responses.map { "\($0.status.code) \($0.body)" })")
            #expect(responses.filter { $0.status == .badRequest }.allSatisfy { $0.body["non_field_errors"].array.count == 1 })
            #expect(try await RegistroHoras.query(on: t.db).count() == 1)
        }
    }

    @Test("Idempotency-Key: a replay returns the first response and creates nothing; another body is 422; a stale claim row does not block")
    func idempotency() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let first = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(), headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == .created)
            let replay = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(), headers: ["Idempotency-Key": "k-1"])
            #expect(replay.status == .created)
            #expect(replay.json == first.json)
            #expect(replay.headers.first(name: "Idempotent-Replayed") == "true")
            #expect(try await RegistroHoras.query(on: t.db).count() == 1)
            let reused = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("12:00", "13:00"), headers: ["Idempotency-Key": "k-1"])
            #expect(reused.status == .unprocessableEntity)
            #expect(reused.json["code"] == "idempotency_key_reused")
            // Keys are per user: another mentor may use the same one.
            let other = try await HoursSetup.make(t)
            #expect(try await t.send(.POST, "/api/registro-horas/", token: other.token, json: other.body(), headers: ["Idempotency-Key": "k-1"]).status == .created)
            // A claim row left in flight by an older version (whose process died) does not block the key.
            let record = IdempotencyRecord()
            record.usuarioID = try #require(s.mentor.$usuario.id); record.clave = "k-2"; record.estado = "en_curso"; record.creado = Date()
            record.hash = sha256(s.body("15:00", "16:00"))
            try await record.create(on: t.db)
            let stale = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("15:00", "16:00"), headers: ["Idempotency-Key": "k-2"])
            #expect(stale.status == .created)
            #expect(try await RegistroHoras.query(on: t.db).count() == 3)
            // A refused request is replayed as refused, without re-running the rules.
            let bad = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("10:00", "09:00"), headers: ["Idempotency-Key": "k-3"])
            let badAgain = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("10:00", "09:00"), headers: ["Idempotency-Key": "k-3"])
            #expect(bad.status == .badRequest && badAgain.status == .badRequest && bad.json == badAgain.json)
        }
    }

    @Test("ten concurrent retries with one Idempotency-Key create one record")
    func concurrentIdempotency() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let responses = try await t.concurrentlyWithHeaders(10, .POST, "/api/registro-horas/", token: s.token,
                                                               headers: ["Idempotency-Key": "same"]) { _ in s.body() }
            #expect(try await RegistroHoras.query(on: t.db).count() == 1)
            #expect(responses.allSatisfy { [.created, .conflict].contains($0.status) })
            #expect(responses.filter { $0.status == .created }.count >= 1)
        }
    }

    @Test("mentors edit and delete their own pending records only; others' are 404; reviewed ones 403")
    func mentorChanges() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let other = try await HoursSetup.make(t)
            let created = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body())
            let id = try #require(created.json["id"].int)
            let patched = try await t.send(.PATCH, "/api/registro-horas/\(id)/", token: s.token, json: ["hora_fin": "11:00"])
            #expect(patched.status == .ok)
            #expect(patched.json["horas"] == 2)
            #expect(try await t.send(.GET, "/api/registro-horas/\(id)/", token: other.token).status == .notFound)
            #expect(try await t.send(.PATCH, "/api/registro-horas/\(id)/", token: other.token, json: ["hora_fin": "12:00"]).status == .notFound)
            #expect(try await t.send(.GET, "/api/registro-horas/", token: other.token).json["count"] == 0)
            let (_, coordinator) = try await t.userWithToken(.coordinador)
            #expect(try await t.send(.POST, "/api/registro-horas/\(id)/aprobar/", token: coordinator).status == .ok)
            let late = try await t.send(.PATCH, "/api/registro-horas/\(id)/", token: s.token, json: ["hora_fin": "12:00"])
            #expect(late.status == .forbidden)
            #expect(late.json["code"] == "permission_denied")
            #expect(try await t.send(.DELETE, "/api/registro-horas/\(id)/", token: s.token).status == .forbidden)
            let second = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("14:00", "15:00"))
            #expect(try await t.send(.DELETE, "/api/registro-horas/\(second.json["id"].int ?? 0)/", token: s.token).status == .noContent)
        }
    }

    @Test("approve and reject: coordinators only, pending only, rejection needs a reason")
    func review() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let (coordinatorUser, coordinator) = try await t.userWithToken(.coordinador)
            let a = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("09:00", "10:00")).json["id"].int ?? 0
            let b = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("10:00", "11:00")).json["id"].int ?? 0
            #expect(try await t.send(.POST, "/api/registro-horas/\(a)/aprobar/", token: s.token).status == .forbidden)
            let approved = try await t.send(.POST, "/api/registro-horas/\(a)/aprobar/", token: coordinator)
            #expect(approved.json["estado"] == "aprobado")
            #expect(approved.json["revisado_por"].int == coordinatorUser.id)
            #expect(approved.json["fecha_revision"].string?.hasSuffix("Z") == true)
            let twice = try await t.send(.POST, "/api/registro-horas/\(a)/rechazar/", token: coordinator, json: ["motivo": "No"])
            #expect(twice.json == ["non_field_errors": ["Solo se pueden revisar registros pendientes."]])
            #expect(try await t.send(.POST, "/api/registro-horas/\(b)/rechazar/", token: coordinator, json: [:]).json == ["motivo": ["Este campo es requerido."]])
            let rejected = try await t.send(.POST, "/api/registro-horas/\(b)/rechazar/", token: coordinator, json: ["motivo": "Fuera de horario"])
            #expect(rejected.json["estado"] == "rechazado")
            #expect(rejected.json["motivo_rechazo"] == "Fuera de horario")
            #expect(try await t.send(.POST, "/api/registro-horas/99999/aprobar/", token: coordinator).status == .notFound)
        }
    }

    @Test("revisar-lote applies to all or none and names the offending ids")
    func batchReview() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let (_, coordinator) = try await t.userWithToken(.coordinador)
            var ids: [Int] = []
            for hour in 8..<12 {
                let res = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(String(format: "%02d:00", hour), String(format: "%02d:00", hour + 1)))
                ids.append(res.json["id"].int ?? 0)
            }
            _ = try await t.send(.POST, "/api/registro-horas/\(ids[0])/aprobar/", token: coordinator)
            let mixed = try await t.send(.POST, "/api/registro-horas/revisar-lote/", token: coordinator,
                                         json: ["ids": .array(ids.map { .int(Int64($0)) } + [424242]), "accion": "aprobar"])
            #expect(mixed.status == .badRequest)
            #expect(mixed.json == ["ids": ["No existen los registros: 424242.", .string("No están pendientes: \(ids[0]).")]])
            #expect(try await RegistroHoras.query(on: t.db).filter(\.$estado == .pendiente).count() == 3)
            #expect(try await t.send(.POST, "/api/registro-horas/revisar-lote/", token: coordinator, json: ["ids": [], "accion": "aprobar"]).json == ["ids": ["Esta lista no puede estar vacía."]])
            #expect(try await t.send(.POST, "/api/registro-horas/revisar-lote/", token: coordinator, json: ["ids": [1], "accion": "rechazar"]).json["motivo"] == ["Este campo es requerido."])
            #expect(try await t.send(.POST, "/api/registro-horas/revisar-lote/", token: s.token, json: ["ids": [1], "accion": "aprobar"]).status == .forbidden)
            let rest = Array(ids.dropFirst())
            let ok = try await t.send(.POST, "/api/registro-horas/revisar-lote/", token: coordinator,
                                      json: ["ids": .array(rest.map { .int(Int64($0)) }), "accion": "rechazar", "motivo": "Duplicado"])
            #expect(ok.status == .ok)
            #expect(ok.json == ["actualizados": 3, "ids": .array(rest.map { .int(Int64($0)) })])
            #expect(try await RegistroHoras.query(on: t.db).filter(\.$estado == .rechazado).count() == 3)
        }
    }

    @Test("filters: mentor, proyecto, estado, desde/hasta; invalid values are 400")
    func filters() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let (_, admin) = try await t.userWithToken(.admin)
            for fecha in ["2025-03-03", "2025-03-05", "2025-03-07"] {
                _ = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(fecha: fecha))
            }
            func fechas(_ query: String) async throws -> [String] {
                try await t.send(.GET, "/api/registro-horas/?\(query)", token: admin).json["results"].array.compactMap { $0["fecha"].string }
            }
            #expect(try await fechas("") == ["2025-03-07", "2025-03-05", "2025-03-03"])
            #expect(try await fechas("ordering=fecha") == ["2025-03-03", "2025-03-05", "2025-03-07"])
            #expect(try await fechas("desde=2025-03-04&hasta=2025-03-06") == ["2025-03-05"])
            #expect(try await fechas("mentor=\(try s.mentor.requireID())&estado=pendiente").count == 3)
            #expect(try await fechas("proyecto=\(try s.project.requireID())&estado=aprobado") == [])
            let bad = try await t.send(.GET, "/api/registro-horas/?desde=2025-02-30&estado=listo&mentor=x", token: admin)
            #expect(bad.status == .badRequest)
            #expect(bad.json.objectKeys == ["desde", "estado", "mentor"])
        }
    }
}

func sha256(_ value: JSONValue) -> String {
    Idempotency.fingerprint((try? JSONEncoder().encode(value)) ?? Data())
}

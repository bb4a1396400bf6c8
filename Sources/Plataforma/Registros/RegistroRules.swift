import Fluent
import FluentSQL
import Foundation
import SQLKit
import Vapor

/// The rules of an hour record (SPEC §5), each a 400 with its field, all reported at once.
enum RegistroRules {
    struct Values {
        var mentorID: Int
        var proyectoID: Int
        var grupoID: Int?
        var fecha: LocalDate
        var inicio: TimeOfDay
        var fin: TimeOfDay
        var descripcion: String
    }

    /// Reads a body over `existing` (for updates). Mentors' `mentor` is always their own profile.
    static func read(_ input: inout JSONInput, existing: RegistroHoras?, ownMentorID: Int?) -> Values? {
        var mentorID: Int? = ownMentorID ?? existing?.$mentor.id
        if ownMentorID == nil {
            if let sent = input.id("mentor", required: existing == nil) { mentorID = sent }
        }
        let proyecto = input.id("proyecto", required: existing == nil)
        let grupoSent = input.has("grupo")
        let grupo = input.id("grupo", required: false, allowNull: true)
        let fecha = input.date("fecha", required: existing == nil)
        let inicio = input.time("hora_inicio", required: existing == nil)
        let fin = input.time("hora_fin", required: existing == nil)
        let descripcion = input.string("descripcion", required: false, allowBlank: true, maxLength: 2_000, trim: false)
        guard input.errors.isEmpty,
              let mentorID,
              let proyectoID = proyecto ?? existing?.$proyecto.id,
              let fecha = fecha ?? existing.flatMap({ LocalDate($0.fecha) }),
              let inicio = inicio ?? existing.map({ TimeOfDay(clamping: $0.horaInicio) }),
              let fin = fin ?? existing.map({ TimeOfDay(clamping: $0.horaFin) }) else { return nil }
        // A new project without a new group drops the old group (it belonged to the old project).
        let grupoID: Int? = grupoSent ? grupo : (proyecto == nil || proyecto == existing?.$proyecto.id ? existing?.$grupo.id : nil)
        return Values(mentorID: mentorID, proyectoID: proyectoID, grupoID: grupoID, fecha: fecha, inicio: inicio, fin: fin,
                      descripcion: descripcion ?? existing?.descripcion ?? "")
    }

    /// Checks everything but the overlap (which runs under the mentor's lock at write time).
    static func validate(_ values: Values, errors: inout FieldErrors, today: LocalDate, on db: any Database) async throws {
        if values.fin <= values.inicio {
            errors.add("hora_fin", "La hora de fin debe ser posterior a la hora de inicio.")
        }
        if values.fecha > today {
            errors.add("fecha", "La fecha no puede ser futura.")
        } else if let calendar = try await DiasHabiles.coveringCalendar(values.fecha, on: db),
                  !(try await DiasHabiles.isBusinessDay(values.fecha, in: calendar, on: db)) {
            errors.add("fecha", "La fecha no es un día hábil del calendario «\(calendar.nombre)».")
        }
        let related = try await Related.read(values, on: db)
        guard related.mentor else {
            errors.add("mentor", "Clave primaria \"\(values.mentorID)\" inválida - objeto no existe.")
            return
        }
        guard let estado = related.estadoProyecto else {
            errors.add("proyecto", "Clave primaria \"\(values.proyectoID)\" inválida - objeto no existe.")
            return
        }
        if estado != EstadoProyecto.activo.rawValue {
            errors.add("proyecto", "El proyecto no está activo.")
        }
        if !related.asignado {
            errors.add("proyecto", "El mentor no está asignado a este proyecto.")
        }
        if let grupoID = values.grupoID {
            if !related.grupo {
                errors.add("grupo", "Clave primaria \"\(grupoID)\" inválida - objeto no existe.")
            } else if related.grupoProyecto != values.proyectoID {
                errors.add("grupo", "El grupo no pertenece al proyecto.")
            }
        }
    }

    /// What a record refers to, read in one statement: whether the mentor exists, the project's
    /// state (nil: no such project), whether the mentor is assigned to it, and the group's project.
    struct Related {
        var mentor: Bool
        var estadoProyecto: String?
        var asignado: Bool
        var grupo: Bool
        var grupoProyecto: Int?

        static func read(_ values: Values, on db: any Database) async throws -> Related {
            guard let sql = db as? any SQLDatabase else { throw Abort(.internalServerError, reason: "no SQL database") }
            let row = try await sql.raw("""
                SELECT EXISTS (SELECT 1 FROM mentores WHERE id = \(bind: values.mentorID)) AS mentor,
                (SELECT estado FROM proyectos WHERE id = \(bind: values.proyectoID)) AS estado,
                EXISTS (SELECT 1 FROM proyecto_mentores WHERE proyecto_id = \(bind: values.proyectoID)
                        AND mentor_id = \(bind: values.mentorID)) AS asignado,
                EXISTS (SELECT 1 FROM grupos WHERE id = \(bind: values.grupoID ?? 0)) AS grupo,
                (SELECT proyecto_id FROM grupos WHERE id = \(bind: values.grupoID ?? 0)) AS grupo_proyecto
                """).first()
            guard let row else { throw Abort(.internalServerError, reason: "no row from a SELECT without FROM") }
            return Related(mentor: try row.decode(column: "mentor", as: Bool.self),
                           estadoProyecto: try row.decode(column: "estado", as: String?.self),
                           asignado: try row.decode(column: "asignado", as: Bool.self),
                           grupo: try row.decode(column: "grupo", as: Bool.self),
                           grupoProyecto: try row.decode(column: "grupo_proyecto", as: Int?.self))
        }
    }

    /// Serialises writes of one mentor's records: a no-op UPDATE of the mentor row takes its row
    /// lock on PostgreSQL (the database write lock on SQLite) until the transaction ends, so the
    /// overlap check that follows cannot race another writer.
    static func lockMentor(_ mentorID: Int, on db: any Database) async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.update(Mentor.schema).set(SQLColumn("activo"), to: SQLColumn("activo")).where("id", .equal, mentorID).run()
    }

    /// The same mentor's non-rejected record that day whose times intersect, if any.
    static func overlapping(_ values: Values, excluding id: Int?, on db: any Database) async throws -> RegistroHoras? {
        let query = RegistroHoras.query(on: db)
            .filter(\.$mentor.$id == values.mentorID)
            .filter(\.$fecha == values.fecha.description)
            .filter(\.$estado != .rechazado)
            .filter(\.$horaInicio < values.fin.minutes)
            .filter(\.$horaFin > values.inicio.minutes)
        if let id { query.filter(\.$id != id) }
        return try await query.first()
    }

    static func overlapMessage(_ other: RegistroHoras) -> String {
        "Se solapa con otro registro del mismo día (\(TimeOfDay(clamping: other.horaInicio))–\(TimeOfDay(clamping: other.horaFin)))."
    }

    static func apply(_ values: Values, to record: RegistroHoras) {
        record.$mentor.id = values.mentorID
        record.$proyecto.id = values.proyectoID
        record.$grupo.id = values.grupoID
        record.fecha = values.fecha.description
        record.horaInicio = values.inicio.minutes
        record.horaFin = values.fin.minutes
        record.horas = Hours.fromMinutes(values.fin.minutes - values.inicio.minutes)
        record.descripcion = values.descripcion
    }
}

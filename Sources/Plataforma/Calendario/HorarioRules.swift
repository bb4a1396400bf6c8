import Fluent
import FluentSQL
import SQLKit
import Vapor

/// Class-slot rules: what a write may contain, and that no group nor mentor is in two classes at
/// once. Two slots overlap when they fall on the same weekday, their times intersect and their
/// calendars' date ranges intersect. Every write that could break that (a slot, a calendar's
/// dates, a group's mentors) checks it under `lock`, so concurrent writers cannot both pass.
enum HorarioRules {
    /// The `WriteLock` that calendar, slot and group-mentor writes share.
    static let lock = "calendario"
    static let dias = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]

    /// The validated writable fields; `nil` means "not sent".
    struct Fields {
        var grupo: Int?
        var calendario: Int?
        var diaSemana: Int?
        var horaInicio: TimeOfDay?
        var horaFin: TimeOfDay?
        var aula: String?
    }

    static func read(_ input: inout JSONInput, existing: Horario?, on db: any Database) async throws -> Fields {
        var fields = Fields()
        fields.grupo = input.id("grupo")
        fields.calendario = input.id("calendario")
        fields.diaSemana = input.int("dia_semana", range: 0...6)
        fields.horaInicio = input.time("hora_inicio")
        fields.horaFin = input.time("hora_fin")
        fields.aula = input.string("aula", required: false, allowBlank: true, maxLength: 100)
        if let id = fields.grupo, try await Grupo.find(id, on: db) == nil {
            input.errors.add("grupo", "Clave primaria \"\(id)\" inválida - objeto no existe.")
        }
        if let id = fields.calendario, try await CalendarioAcademico.find(id, on: db) == nil {
            input.errors.add("calendario", "Clave primaria \"\(id)\" inválida - objeto no existe.")
        }
        let start = input.has("hora_inicio") ? fields.horaInicio : existing.map { TimeOfDay(clamping: $0.horaInicio) }
        let end = input.has("hora_fin") ? fields.horaFin : existing.map { TimeOfDay(clamping: $0.horaFin) }
        if let start, let end, end <= start {
            input.errors.add("hora_fin", "La hora de fin debe ser posterior a la hora de inicio.")
        }
        try input.finish()
        return fields
    }

    /// Applies `fields` and saves under the lock, after checking the slot against the others.
    static func save(_ slot: Horario, fields: Fields, req: Request) async throws {
        let before = slot.id == nil ? nil : try slot.toDTO()
        if let grupo = fields.grupo { slot.$grupo.id = grupo }
        if let calendario = fields.calendario { slot.$calendario.id = calendario }
        if let dia = fields.diaSemana { slot.diaSemana = dia }
        if let inicio = fields.horaInicio { slot.horaInicio = inicio.minutes }
        if let fin = fields.horaFin { slot.horaFin = fin.minutes }
        if let aula = fields.aula { slot.aula = aula }
        // A constraint failure here means the group or calendar was deleted between the checks and the write.
        try await mappingConstraintFailure(to: .validation(Self.vanished)) {
            try await req.writeTransaction { db in
                try await WriteLock.acquire(lock, on: db)
                var errors = FieldErrors()
                for message in try await conflicts(of: slot, on: db) { errors.addNonField(message) }
                try errors.throwIfAny()
                try await slot.save(on: db)
                try await req.audit(before == nil ? .crear : .actualizar, "horarios", id: slot.id,
                                    antes: before, despues: try slot.toDTO(), on: db)
            }
        }
    }

    static var vanished: FieldErrors {
        var errors = FieldErrors()
        errors.addNonField("El grupo o el calendario ya no existe.")
        return errors
    }

    // MARK: Overlaps

    /// A slot with its calendar's date range, as the overlap rule sees it.
    struct Franja {
        let id: Int?
        let grupo: Int
        let dia: Int
        let inicio: Int
        let fin: Int
        let fechas: ClosedRange<LocalDate>

        func overlaps(_ other: Franja) -> Bool {
            dia == other.dia && inicio < other.fin && other.inicio < fin && fechas.overlaps(other.fechas)
        }

        var description: String {
            let when = "\(HorarioRules.dias[dia]) \(TimeOfDay(clamping: inicio))–\(TimeOfDay(clamping: fin))"
            return id.map { "\(when) (horario \($0))" } ?? when
        }
    }

    /// Two overlapping slots: of one group (`mentor` nil) or sharing `mentor`.
    struct Conflicto {
        let franja: Franja
        let otra: Franja
        let mentor: Int?
    }

    /// Every overlap between `candidates` and `others` (a slot never conflicts with itself).
    static func conflicts(_ candidates: [Franja], _ others: [Franja], mentors: [Int: Set<Int>]) -> [Conflicto] {
        var found: [Conflicto] = []
        for franja in candidates {
            for otra in others where otra.id == nil || otra.id != franja.id {
                guard franja.overlaps(otra) else { continue }
                if franja.grupo == otra.grupo {
                    found.append(Conflicto(franja: franja, otra: otra, mentor: nil))
                } else {
                    let shared = (mentors[franja.grupo] ?? []).intersection(mentors[otra.grupo] ?? [])
                    found += shared.sorted().map { Conflicto(franja: franja, otra: otra, mentor: $0) }
                }
            }
        }
        return found
    }

    /// Loads slots with their calendars' ranges (one query).
    static func franjas(_ query: QueryBuilder<Horario>) async throws -> [Franja] {
        try await query.join(CalendarioAcademico.self, on: \Horario.$calendario.$id == \CalendarioAcademico.$id)
            .sort(\.$id).all().compactMap { slot in
                let calendar = try slot.joined(CalendarioAcademico.self)
                guard let start = calendar.inicio, let end = calendar.fin, start <= end else { return nil }
                return Franja(id: slot.id, grupo: slot.$grupo.id, dia: slot.diaSemana, inicio: slot.horaInicio,
                              fin: slot.horaFin, fechas: start...end)
            }
    }

    /// The mentors of each of `groups` (one query).
    static func mentors(of groups: some Collection<Int>, on db: any Database) async throws -> [Int: Set<Int>] {
        guard !groups.isEmpty else { return [:] }
        let links = try await GrupoMentor.query(on: db).filter(\.$grupo.$id ~~ Array(groups)).all()
        return Dictionary(grouping: links, by: { $0.$grupo.id }).mapValues { Set($0.map { $0.$mentor.id }) }
    }

    static func limited(_ messages: [String]) -> [String] {
        var seen = Set<String>()
        return Array(messages.filter { seen.insert($0).inserted }.prefix(10))
    }

    /// Messages for `slot` (new or changed) against the slots of its group and of every group
    /// that shares a mentor with it.
    static func conflicts(of slot: Horario, on db: any Database) async throws -> [String] {
        guard let calendar = try await CalendarioAcademico.find(slot.$calendario.id, on: db) else {
            throw APIError.validation(vanished)
        }
        guard let start = calendar.inicio, let end = calendar.fin, start <= end else { return [] }
        let franja = Franja(id: slot.id, grupo: slot.$grupo.id, dia: slot.diaSemana, inicio: slot.horaInicio,
                            fin: slot.horaFin, fechas: start...end)
        let group = franja.grupo
        let query = Horario.query(on: db).filter(\.$diaSemana == franja.dia)
            .filter(\.$horaInicio < franja.fin).filter(\.$horaFin > franja.inicio)
            .group(.or) { either in
                either.filter(\.$grupo.$id == group)
                either.filter(SQLFilters.columnIn("grupo_id", of: Horario.schema) {
                    $0.column("grupo_id").from(GrupoMentor.schema).where("mentor_id", .in, SQLGroupExpression(SQLSubquery.select {
                        $0.column("mentor_id").from(GrupoMentor.schema).where("grupo_id", .equal, group)
                    }))
                })
            }
        if let id = slot.id { query.filter(\.$id != id) }
        let others = try await franjas(query)
        let mentors = try await mentors(of: Set(others.map(\.grupo) + [group]), on: db)
        return limited(conflicts([franja], others, mentors: mentors).map { conflict in
            if let mentor = conflict.mentor {
                return "El mentor \(mentor) ya tiene una clase que se solapa en el grupo \(conflict.otra.grupo): \(conflict.otra.description)."
            }
            return "El grupo ya tiene una clase que se solapa: \(conflict.otra.description)."
        })
    }

    /// Messages for moving calendar `calendarID` to `range`: its slots against other calendars'.
    static func conflictsMoving(calendarID: Int, to range: ClosedRange<LocalDate>, on db: any Database) async throws -> [String] {
        let own = try await franjas(Horario.query(on: db).filter(\.$calendario.$id == calendarID)).map {
            Franja(id: $0.id, grupo: $0.grupo, dia: $0.dia, inicio: $0.inicio, fin: $0.fin, fechas: range)
        }
        guard !own.isEmpty else { return [] }
        let others = try await franjas(Horario.query(on: db).filter(\.$calendario.$id != calendarID)
            .filter(\.$diaSemana ~~ Set(own.map(\.dia)))
            .filter(CalendarioAcademico.self, \.$fechaInicio <= range.upperBound.description)
            .filter(CalendarioAcademico.self, \.$fechaFin >= range.lowerBound.description))
        let mentors = try await mentors(of: Set((own + others).map(\.grupo)), on: db)
        return limited(conflicts(own, others, mentors: mentors).map { conflict in
            let who = conflict.mentor.map { "el mentor \($0)" } ?? "el grupo \(conflict.franja.grupo)"
            return "Con estas fechas, \(who) tendría dos clases solapadas: \(conflict.franja.description) y "
                + "\(conflict.otra.description)."
        })
    }

    /// Messages for giving group `groupID` the mentors `mentorIDs`: its slots against the slots
    /// of the other groups those mentors teach.
    static func conflictsAssigning(mentors mentorIDs: [Int], to groupID: Int, on db: any Database) async throws -> [String] {
        guard !mentorIDs.isEmpty else { return [] }
        let own = try await franjas(Horario.query(on: db).filter(\.$grupo.$id == groupID))
        guard !own.isEmpty else { return [] }
        let others = try await franjas(Horario.query(on: db).filter(\.$grupo.$id != groupID)
            .filter(\.$diaSemana ~~ Set(own.map(\.dia)))
            .filter(SQLFilters.columnIn("grupo_id", of: Horario.schema) {
                $0.column("grupo_id").from(GrupoMentor.schema).where("mentor_id", .in, mentorIDs)
            }))
        var mentors = try await mentors(of: Set(others.map(\.grupo)), on: db)
        mentors[groupID] = Set(mentorIDs)
        return limited(conflicts(own, others, mentors: mentors).map { conflict in
            "El mentor \(conflict.mentor ?? 0) ya tiene una clase que se solapa en el grupo \(conflict.otra.grupo): "
                + "\(conflict.otra.description), con \(conflict.franja.description) de este grupo."
        })
    }
}

import Fluent
import Vapor

/// What a calendar write may contain, validated all at once, and the rules that need the
/// database: active calendars never overlap, and moving one never makes class slots collide.
enum CalendarioRules {
    static let defaultDiasHabiles = [0, 1, 2, 3, 4]

    /// The validated writable fields; `nil` means "not sent".
    struct Fields {
        var nombre: String?
        var fechaInicio: LocalDate?
        var fechaFin: LocalDate?
        var diasHabiles: [Int]?
        var activo: Bool?
    }

    static func read(_ input: inout JSONInput, existing: CalendarioAcademico?) throws -> Fields {
        var fields = Fields()
        fields.nombre = input.string("nombre", maxLength: 100)
        fields.fechaInicio = input.date("fecha_inicio")
        fields.fechaFin = input.date("fecha_fin")
        fields.diasHabiles = readDiasHabiles(&input)
        fields.activo = input.bool("activo", required: false)
        let start = input.has("fecha_inicio") ? fields.fechaInicio : existing?.inicio
        let end = input.has("fecha_fin") ? fields.fechaFin : existing?.fin
        if let start, let end, end < start {
            input.errors.add("fecha_fin", "La fecha de fin no puede ser anterior a la fecha de inicio.")
        }
        try input.finish()
        return fields
    }

    /// `dias_habiles`: a non-empty list of distinct weekdays, 0 (lunes) to 6 (domingo).
    static func readDiasHabiles(_ input: inout JSONInput) -> [Int]? {
        let key = "dias_habiles"
        guard let items = input.list(key, required: false, maxCount: 100) else { return nil }
        if items.isEmpty {
            input.errors.add(key, "Esta lista no puede estar vacía.")
            return nil
        }
        var days: [Int] = []
        for item in items {
            let day: Int?
            switch item {
            case .int(let number): day = Int(exactly: number)
            case .string(let text): day = Int(text.trimmingCharacters(in: .whitespaces))
            default: day = nil
            }
            guard let day, (0...6).contains(day) else {
                input.errors.add(key, "\"\(JSONInput.describe(item))\" no es un día válido: use 0 (lunes) a 6 (domingo).")
                continue
            }
            if days.contains(day) {
                input.errors.add(key, "El día \(day) está repetido.")
            } else {
                days.append(day)
            }
        }
        return input.errors.has(key) ? nil : days.sorted()
    }

    /// Applies `fields` and saves under the calendar lock, after the checks that other writers
    /// could race: overlapping active calendars and class slots that would collide once moved.
    static func save(_ calendar: CalendarioAcademico, fields: Fields, req: Request) async throws {
        let before = calendar.id == nil ? nil : try calendar.toDTO()
        let previous = calendar.id == nil ? nil : calendar.inicio.flatMap { start in calendar.fin.map { start...$0 } }
        if let nombre = fields.nombre { calendar.nombre = nombre }
        if let fechaInicio = fields.fechaInicio { calendar.fechaInicio = fechaInicio.description }
        if let fechaFin = fields.fechaFin { calendar.fechaFin = fechaFin.description }
        if let diasHabiles = fields.diasHabiles { calendar.diasHabiles = diasHabiles }
        if let activo = fields.activo { calendar.activo = activo }
        guard let start = calendar.inicio, let end = calendar.fin else { throw APIError.serverError }
        try await req.writeTransaction { db in
            try await WriteLock.acquire(HorarioRules.lock, on: db)
            var errors = FieldErrors()
            if calendar.activo, let other = try await activeOverlap(start...end, excluding: calendar.id, on: db) {
                errors.addNonField(
                    "Las fechas se solapan con el calendario activo \"\(other.nombre)\" (\(other.fechaInicio) a \(other.fechaFin)).")
            }
            if let id = calendar.id, let previous, !(previous.contains(start) && previous.contains(end)) {
                for message in try await HorarioRules.conflictsMoving(calendarID: id, to: start...end, on: db) {
                    errors.addNonField(message)
                }
            }
            try errors.throwIfAny()
            try await calendar.save(on: db)
            try await req.audit(before == nil ? .crear : .actualizar, "calendarios", id: calendar.id,
                                antes: before, despues: try calendar.toDTO(), on: db)
        }
    }

    /// The active calendar, other than `id`, whose range intersects `range`.
    static func activeOverlap(_ range: ClosedRange<LocalDate>, excluding id: Int?, on db: any Database) async throws -> CalendarioAcademico? {
        let query = CalendarioAcademico.query(on: db).filter(\.$activo == true)
            .filter(\.$fechaInicio <= range.upperBound.description)
            .filter(\.$fechaFin >= range.lowerBound.description)
        if let id { query.filter(\.$id != id) }
        return try await query.sort(\.$fechaInicio).first()
    }
}

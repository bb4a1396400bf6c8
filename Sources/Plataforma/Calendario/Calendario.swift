import Fluent
import Foundation

/// An academic calendar: a date range, the weekdays that are lective, and its holidays.
public final class CalendarioAcademico: Model, @unchecked Sendable {
    public static let schema = "calendarios"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Field(key: "nombre") public var nombre: String
    @Field(key: "fecha_inicio") public var fechaInicio: String
    @Field(key: "fecha_fin") public var fechaFin: String
    /// Weekdays 0 (lunes) … 6 (domingo), comma-separated.
    @Field(key: "dias_habiles") public var diasHabilesTexto: String
    @Field(key: "activo") public var activo: Bool

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $nombre, $fechaInicio, $fechaFin, $diasHabilesTexto, $activo]
    }

    public init(nombre: String, inicio: LocalDate, fin: LocalDate, diasHabiles: [Int] = [0, 1, 2, 3, 4], activo: Bool = true) {
        self.nombre = nombre
        self.fechaInicio = inicio.description
        self.fechaFin = fin.description
        self.diasHabilesTexto = diasHabiles.sorted().map(String.init).joined(separator: ",")
        self.activo = activo
    }

    public var diasHabiles: [Int] {
        get { diasHabilesTexto.split(separator: ",").compactMap { Int($0) } }
        set { diasHabilesTexto = Set(newValue).sorted().map(String.init).joined(separator: ",") }
    }

    public var inicio: LocalDate? { LocalDate(fechaInicio) }
    public var fin: LocalDate? { LocalDate(fechaFin) }
}

/// A holiday (día no lectivo) of one calendar.
public final class DiaNoLectivo: Model, @unchecked Sendable {
    public static let schema = "dias_no_lectivos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "calendario_id") public var calendario: CalendarioAcademico
    @Field(key: "fecha") public var fecha: String
    @Field(key: "descripcion") public var descripcion: String

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $calendario, $fecha, $descripcion]
    }

    public init(calendarioID: Int, fecha: LocalDate, descripcion: String) {
        self.$calendario.id = calendarioID
        self.fecha = fecha.description
        self.descripcion = descripcion
    }
}

/// A weekly class slot of a group, under one calendar.
public final class Horario: Model, @unchecked Sendable {
    public static let schema = "horarios"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "grupo_id") public var grupo: Grupo
    @Parent(key: "calendario_id") public var calendario: CalendarioAcademico
    @Field(key: "dia_semana") public var diaSemana: Int
    @Field(key: "hora_inicio") public var horaInicio: Int
    @Field(key: "hora_fin") public var horaFin: Int
    @Field(key: "aula") public var aula: String

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $grupo, $calendario, $diaSemana, $horaInicio, $horaFin, $aula]
    }

    public init(grupoID: Int, calendarioID: Int, diaSemana: Int, horaInicio: TimeOfDay, horaFin: TimeOfDay, aula: String = "") {
        self.$grupo.id = grupoID
        self.$calendario.id = calendarioID
        self.diaSemana = diaSemana
        self.horaInicio = horaInicio.minutes
        self.horaFin = horaFin.minutes
        self.aula = aula
    }
}

/// The secret behind a user's iCalendar feed URL; only its SHA-256 is stored.
public final class AgendaToken: Model, @unchecked Sendable {
    public static let schema = "agenda_tokens"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "usuario_id") public var usuario: Usuario
    @Field(key: "token_hash") public var tokenHash: String
    /// Random, not secret on its own: the token is derived from it with the secret key.
    @Field(key: "nonce") public var nonce: String
    @Field(key: "creado") public var creado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $usuario, $tokenHash, $nonce, $creado]
    }

    public init(usuarioID: Int) {
        self.$usuario.id = usuarioID
        self.tokenHash = ""
        self.nonce = ""
        self.creado = Date()
    }
}

/// Business-day questions other domains ask (hour records must fall on one).
public enum DiasHabiles {
    /// The active calendar whose range holds `date`, if any.
    public static func coveringCalendar(_ date: LocalDate, on db: any Database) async throws -> CalendarioAcademico? {
        try await CalendarioAcademico.query(on: db)
            .filter(\.$activo == true)
            .filter(\.$fechaInicio <= date.description)
            .filter(\.$fechaFin >= date.description)
            .first()
    }

    /// Whether `date` is lective in `calendar`: inside it, on one of its weekdays, not a holiday.
    public static func isBusinessDay(_ date: LocalDate, in calendar: CalendarioAcademico, on db: any Database) async throws -> Bool {
        guard let start = calendar.inicio, let end = calendar.fin, start <= date, date <= end,
              calendar.diasHabiles.contains(date.weekday) else { return false }
        let holiday = try await DiaNoLectivo.query(on: db)
            .filter(\.$calendario.$id == (try calendar.requireID()))
            .filter(\.$fecha == date.description)
            .count()
        return holiday == 0
    }

    /// The business days of `calendar` in `from...to` (holidays loaded once).
    public static func days(in calendar: CalendarioAcademico, from: LocalDate, to: LocalDate, on db: any Database) async throws -> [LocalDate] {
        guard let start = calendar.inicio, let end = calendar.fin else { return [] }
        let lower = max(from, start), upper = min(to, end)
        guard lower <= upper else { return [] }
        let holidays = Set(try await DiaNoLectivo.query(on: db)
            .filter(\.$calendario.$id == (try calendar.requireID()))
            .filter(\.$fecha >= lower.description).filter(\.$fecha <= upper.description)
            .all().map(\.fecha))
        return days(in: calendar, from: from, to: to, holidays: holidays)
    }

    /// The same with the calendar's holidays (`YYYY-MM-DD`) already loaded, for callers that
    /// expand several calendars with one query.
    public static func days(in calendar: CalendarioAcademico, from: LocalDate, to: LocalDate, holidays: Set<String>) -> [LocalDate] {
        guard let start = calendar.inicio, let end = calendar.fin else { return [] }
        let lower = max(from, start), upper = min(to, end)
        guard lower <= upper else { return [] }
        let weekdays = Set(calendar.diasHabiles)
        return (lower.dayNumber...upper.dayNumber).map(LocalDate.init(dayNumber:))
            .filter { weekdays.contains($0.weekday) && !holidays.contains($0.description) }
    }
}

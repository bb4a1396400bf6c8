import Fluent
import FluentSQL
import Foundation
import SQLKit
import Vapor

/// What an agenda entry is.
public enum TipoEvento: String, Codable, Sendable {
    case clase, registro, cita
}

/// The object an entry comes from: our ids are integers, Bookings appointment ids are strings.
public enum Referencia: Codable, Sendable, Equatable {
    case id(Int)
    case texto(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let id = try? container.decode(Int.self) { self = .id(id) } else { self = .texto(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .id(let id): try container.encode(id)
        case .texto(let text): try container.encode(text)
        }
    }
}

/// One entry of `GET /api/agenda/`; `inicio` and `fin` are UTC instants.
public struct AgendaItemDTO: Content, Equatable {
    public var tipo: TipoEvento
    public var inicio: Date
    public var fin: Date
    public var titulo: String
    @Nullable public var mentor: Int?
    @Nullable public var grupo: Int?
    @Nullable public var proyecto: Int?
    @Nullable public var aula: String?
    public var referencia: Referencia
}

/// An entry with the identity calendar apps track it by (the iCalendar `UID`), stable across fetches.
public struct AgendaEntry: Sendable {
    public var item: AgendaItemDTO
    public var uid: String

    public init(item: AgendaItemDTO, uid: String) {
        self.item = item
        self.uid = uid
    }
}

/// What an agenda is asked for: an inclusive date range, optionally one mentor and one group.
public struct AgendaQuery: Sendable {
    public var desde: LocalDate
    public var hasta: LocalDate
    public var mentor: Int?
    public var grupo: Int?
}

/// The extension point for Bookings appointments (`tipo: "cita"`): the Microsoft integration
/// installs one with `app.citasProvider = …`. Without one the agenda has no appointments.
public protocol CitasProvider: Sendable {
    func citas(for query: AgendaQuery, request: Request) async throws -> [AgendaEntry]
}

extension Application {
    private struct CitasProviderKey: StorageKey { typealias Value = any CitasProvider }

    public var citasProvider: (any CitasProvider)? {
        get { storage[CitasProviderKey.self] }
        set { storage[CitasProviderKey.self] = newValue }
    }
}

/// Builds agendas: class slots of active calendars expanded over their business days (once per
/// mentor of the group) plus hour records. A fixed number of queries whatever the range.
enum Agenda {
    static func entries(_ query: AgendaQuery, on db: any Database, timeZone: TimeZone) async throws -> [AgendaEntry] {
        let slots = try await activeSlots(query, on: db)
        let records = try await records(query, on: db)
        let calendarIDs = Set(slots.map { $0.$calendario.id })
        let holidays = calendarIDs.isEmpty ? [] : try await DiaNoLectivo.query(on: db)
            .filter(\.$calendario.$id ~~ Array(calendarIDs))
            .filter(\.$fecha >= query.desde.description).filter(\.$fecha <= query.hasta.description).all()
        let slotGroups = Set(slots.map { $0.$grupo.id })
        let links = slotGroups.isEmpty ? [] : try await GrupoMentor.query(on: db).filter(\.$grupo.$id ~~ Array(slotGroups))
            .sort(\.$mentor.$id).all()
        let groupIDs = slotGroups.union(records.compactMap { $0.$grupo.id })
        let groups = groupIDs.isEmpty ? [] : try await Grupo.query(on: db).filter(\.$id ~~ Array(groupIDs)).all()
        let projectIDs = Set(groups.map { $0.$proyecto.id } + records.map { $0.$proyecto.id })
        let projects = projectIDs.isEmpty ? [] : try await Proyecto.query(on: db).filter(\.$id ~~ Array(projectIDs)).all()

        let names = Names(groups: groups, projects: projects)
        let holidaysByCalendar = Dictionary(grouping: holidays, by: { $0.$calendario.id }).mapValues { Set($0.map(\.fecha)) }
        var mentorsByGroup = Dictionary(grouping: links, by: { $0.$grupo.id }).mapValues { $0.map { $0.$mentor.id } }
        if let mentor = query.mentor { mentorsByGroup = mentorsByGroup.mapValues { $0.filter { $0 == mentor } } }

        var daysByCalendar: [Int: [Int: [LocalDate]]] = [:]
        var entries: [AgendaEntry] = []
        for slot in slots {
            let calendar = try slot.joined(CalendarioAcademico.self)
            let calendarID = try calendar.requireID()
            if daysByCalendar[calendarID] == nil {
                let days = DiasHabiles.days(in: calendar, from: query.desde, to: query.hasta,
                                            holidays: holidaysByCalendar[calendarID] ?? [])
                daysByCalendar[calendarID] = Dictionary(grouping: days, by: \.weekday)
            }
            let mentors = mentorsByGroup[slot.$grupo.id] ?? []
            guard !mentors.isEmpty, let slotID = slot.id else { continue }
            let group = names.groups[slot.$grupo.id]
            for day in daysByCalendar[calendarID]?[slot.diaSemana] ?? [] {
                let item = AgendaItemDTO(
                    tipo: .clase, inicio: day.instant(minutes: slot.horaInicio, in: timeZone),
                    fin: day.instant(minutes: slot.horaFin, in: timeZone), titulo: names.title(group: group),
                    mentor: nil, grupo: slot.$grupo.id, proyecto: group?.$proyecto.id,
                    aula: slot.aula.isEmpty ? nil : slot.aula, referencia: .id(slotID))
                for mentor in mentors {
                    var entry = item
                    entry.mentor = mentor
                    entries.append(AgendaEntry(item: entry, uid: "clase-\(slotID)-\(day)-\(mentor)@plataforma"))
                }
            }
        }
        for record in records {
            guard let id = record.id, let day = LocalDate(record.fecha) else { continue }
            let project = names.projects[record.$proyecto.id]?.nombre ?? ""
            let pending = record.estado == .pendiente ? " (pendiente)" : ""
            let item = AgendaItemDTO(
                tipo: .registro, inicio: day.instant(minutes: record.horaInicio, in: timeZone),
                fin: day.instant(minutes: record.horaFin, in: timeZone), titulo: "Registro de horas · \(project)\(pending)",
                mentor: record.$mentor.id, grupo: record.$grupo.id, proyecto: record.$proyecto.id, aula: nil,
                referencia: .id(id))
            entries.append(AgendaEntry(item: item, uid: "registro-\(id)@plataforma"))
        }
        return entries
    }

    /// Entries by start, then end, kind, mentor and identity, so equal times keep a stable order.
    static func sorted(_ entries: [AgendaEntry]) -> [AgendaEntry] {
        entries.sorted {
            ($0.item.inicio, $0.item.fin, $0.item.tipo.rawValue, $0.item.mentor ?? 0, $0.uid)
                < ($1.item.inicio, $1.item.fin, $1.item.tipo.rawValue, $1.item.mentor ?? 0, $1.uid)
        }
    }

    /// Slots of active calendars that intersect the range, with their calendar joined.
    private static func activeSlots(_ query: AgendaQuery, on db: any Database) async throws -> [Horario] {
        let slots = Horario.query(on: db)
            .join(CalendarioAcademico.self, on: \Horario.$calendario.$id == \CalendarioAcademico.$id)
            .filter(CalendarioAcademico.self, \.$activo == true)
            .filter(CalendarioAcademico.self, \.$fechaInicio <= query.hasta.description)
            .filter(CalendarioAcademico.self, \.$fechaFin >= query.desde.description)
        if let grupo = query.grupo { slots.filter(\.$grupo.$id == grupo) }
        if let mentor = query.mentor {
            slots.filter(SQLFilters.columnIn("grupo_id", of: Horario.schema) {
                $0.column("grupo_id").from(GrupoMentor.schema).where("mentor_id", .equal, mentor)
            })
        }
        return try await slots.sort(\.$id).all()
    }

    /// Hour records in the range; rejected ones are left out (they did not happen as logged).
    private static func records(_ query: AgendaQuery, on db: any Database) async throws -> [RegistroHoras] {
        let records = RegistroHoras.query(on: db)
            .filter(\.$fecha >= query.desde.description).filter(\.$fecha <= query.hasta.description)
            .filter(\.$estado != .rechazado)
        if let mentor = query.mentor { records.filter(\.$mentor.$id == mentor) }
        if let grupo = query.grupo { records.filter(\.$grupo.$id == grupo) }
        return try await records.sort(\.$id).all()
    }

    /// Group and project names for titles.
    private struct Names {
        let groups: [Int: Grupo]
        let projects: [Int: Proyecto]

        init(groups: [Grupo], projects: [Proyecto]) {
            self.groups = Dictionary(groups.compactMap { group in group.id.map { ($0, group) } }, uniquingKeysWith: { $1 })
            self.projects = Dictionary(projects.compactMap { project in project.id.map { ($0, project) } }, uniquingKeysWith: { $1 })
        }

        func title(group: Grupo?) -> String {
            guard let group else { return "Clase" }
            let project = projects[group.$proyecto.id]?.nombre ?? ""
            return project.isEmpty ? group.nombre : "\(project) · \(group.nombre)"
        }
    }
}

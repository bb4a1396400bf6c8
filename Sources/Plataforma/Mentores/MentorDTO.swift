import Fluent
import FluentSQL
import Foundation
import SQLKit
import Vapor

/// `{"conocimiento": id, "nombre", "nivel"}`.
public struct MentorConocimientoDTO: Content, Equatable {
    public var conocimiento: Int
    public var nombre: String
    public var nivel: Nivel
}

/// `{"dia_semana", "hora_inicio", "hora_fin"}`.
public struct DisponibilidadDTO: Content, Equatable {
    public var diaSemana: Int
    public var horaInicio: TimeOfDay
    public var horaFin: TimeOfDay
}

/// A mentor as the API shows it. `telefono` and `documento_identidad` appear only for callers who
/// may see them (admin, coordinador, the mentor); `horas_*` only in the detail.
public struct MentorDTO: Content {
    public var id: Int
    public var usuario: Int?
    public var nombre: String
    public var apellidos: String
    public var email: String
    public var privado: Privado?
    public var biografia: String
    public var activo: Bool
    public var fechaAlta: String
    public var conocimientos: [MentorConocimientoDTO]
    public var disponibilidad: [DisponibilidadDTO]
    public var proyectos: [Int]
    public var horas: Horas?

    public struct Privado: Sendable {
        public var telefono: String?
        public var documentoIdentidad: String?
    }

    public struct Horas: Sendable {
        public var aprobadas: Int
        public var pendientes: Int
    }

    enum Keys: String, CodingKey {
        case id, usuario, nombre, apellidos, email, telefono, documento_identidad, biografia, activo, fecha_alta
        case conocimientos, disponibilidad, proyectos, horas_aprobadas, horas_pendientes
    }

    public init(from decoder: Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "MentorDTO is output only"))
    }

    init(id: Int, usuario: Int?, nombre: String, apellidos: String, email: String, privado: Privado?, biografia: String,
         activo: Bool, fechaAlta: String, conocimientos: [MentorConocimientoDTO], disponibilidad: [DisponibilidadDTO],
         proyectos: [Int], horas: Horas?) {
        self.id = id
        self.usuario = usuario
        self.nombre = nombre
        self.apellidos = apellidos
        self.email = email
        self.privado = privado
        self.biografia = biografia
        self.activo = activo
        self.fechaAlta = fechaAlta
        self.conocimientos = conocimientos
        self.disponibilidad = disponibilidad
        self.proyectos = proyectos
        self.horas = horas
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(id, forKey: .id)
        try container.encode(usuario, forKey: .usuario)
        try container.encode(nombre, forKey: .nombre)
        try container.encode(apellidos, forKey: .apellidos)
        try container.encode(email, forKey: .email)
        if let privado {
            try container.encode(privado.telefono, forKey: .telefono)
            try container.encode(privado.documentoIdentidad, forKey: .documento_identidad)
        }
        try container.encode(biografia, forKey: .biografia)
        try container.encode(activo, forKey: .activo)
        try container.encode(fechaAlta, forKey: .fecha_alta)
        try container.encode(conocimientos, forKey: .conocimientos)
        try container.encode(disponibilidad, forKey: .disponibilidad)
        try container.encode(proyectos, forKey: .proyectos)
        if let horas {
            try container.encode(Hours.value(horas.aprobadas), forKey: .horas_aprobadas)
            try container.encode(Hours.value(horas.pendientes), forKey: .horas_pendientes)
        }
    }
}

/// Builds `MentorDTO`s for a page of mentors with one query per relation (no N+1).
enum MentorAssembler {
    static func dtos(_ mentors: [Mentor], viewer: Usuario, detail: Bool, on database: any Database,
                     cipher: FieldCipher) async throws -> [MentorDTO] {
        let ids = mentors.compactMap(\.id)
        guard !ids.isEmpty else { return [] }
        let skills = try await MentorConocimiento.query(on: database).filter(\.$mentor.$id ~~ ids)
            .with(\.$conocimiento).all()
        let slots = try await Disponibilidad.query(on: database).filter(\.$mentor.$id ~~ ids)
            .sort(\.$diaSemana).sort(\.$horaInicio).all()
        let assignments = try await ProyectoMentor.query(on: database).filter(\.$mentor.$id ~~ ids)
            .sort(\.$proyecto.$id).all()
        let hours = detail ? try await hourTotals(mentorIDs: ids, on: database) : [:]
        let skillsByMentor = Dictionary(grouping: skills, by: { $0.$mentor.id })
        let slotsByMentor = Dictionary(grouping: slots, by: { $0.$mentor.id })
        let projectsByMentor = Dictionary(grouping: assignments, by: { $0.$mentor.id })
        return try mentors.map { mentor in
            let id = try mentor.requireID()
            let privado = MentorRules.canSeePrivateFields(of: mentor, viewer: viewer)
                ? MentorDTO.Privado(telefono: try cipher.decrypt(mentor.telefonoCifrado),
                                    documentoIdentidad: try cipher.decrypt(mentor.documentoCifrado))
                : nil
            return MentorDTO(
                id: id, usuario: mentor.$usuario.id, nombre: mentor.nombre, apellidos: mentor.apellidos,
                email: mentor.email, privado: privado, biografia: mentor.biografia, activo: mentor.activo,
                fechaAlta: mentor.fechaAlta,
                conocimientos: (skillsByMentor[id] ?? [])
                    .map { MentorConocimientoDTO(conocimiento: $0.$conocimiento.id, nombre: $0.conocimiento.nombre, nivel: $0.nivel) }
                    .sorted { $0.nombre.lowercased() < $1.nombre.lowercased() },
                disponibilidad: (slotsByMentor[id] ?? []).map(DisponibilidadDTO.init),
                proyectos: (projectsByMentor[id] ?? []).map { $0.$proyecto.id },
                horas: detail ? MentorDTO.Horas(aprobadas: hours[id]?[.aprobado] ?? 0, pendientes: hours[id]?[.pendiente] ?? 0) : nil)
        }
    }

    /// Hundredths of an hour per mentor and state, in one grouped query.
    static func hourTotals(mentorIDs: [Int], on database: any Database) async throws -> [Int: [EstadoRegistro: Int]] {
        guard let sql = database as? any SQLDatabase else { return [:] }
        let rows = try await sql.select()
            .column("mentor_id").column("estado").column(SQLIntegerSum("horas"), as: "total")
            .from(RegistroHoras.schema)
            .where("mentor_id", .in, mentorIDs)
            .groupBy("mentor_id").groupBy("estado")
            .all()
        var totals: [Int: [EstadoRegistro: Int]] = [:]
        for row in rows {
            let mentor = try row.decode(column: "mentor_id", as: Int.self)
            guard let estado = EstadoRegistro(rawValue: try row.decode(column: "estado", as: String.self)) else { continue }
            totals[mentor, default: [:]][estado] = try row.decode(column: "total", as: Int?.self) ?? 0
        }
        return totals
    }
}

extension DisponibilidadDTO {
    init(_ slot: Disponibilidad) {
        self.init(diaSemana: slot.diaSemana, horaInicio: TimeOfDay(clamping: slot.horaInicio),
                  horaFin: TimeOfDay(clamping: slot.horaFin))
    }
}

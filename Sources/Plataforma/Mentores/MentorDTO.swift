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

/// Builds `MentorDTO`s for a page of mentors: their rows, and every related list in one more
/// statement (`MentorRelations`), whatever the page size.
enum MentorAssembler {
    static func dtos(_ mentors: [Mentor], viewer: Usuario, detail: Bool, on database: any Database,
                     cipher: FieldCipher) async throws -> [MentorDTO] {
        try await dtos(rows: mentors.map(MentorRow.init), viewer: viewer, detail: detail, on: database, cipher: cipher)
    }

    static func dtos(rows: [MentorRow], viewer: Usuario, detail: Bool, on database: any Database,
                     cipher: FieldCipher) async throws -> [MentorDTO] {
        let relations = try await MentorRelations.load(mentorIDs: rows.map(\.id), withHours: detail, on: database)
        return try rows.map { mentor in
            let privado = MentorRules.canSeePrivateFields(ofMentorOf: mentor.usuarioID, viewer: viewer)
                ? MentorDTO.Privado(telefono: try cipher.decrypt(mentor.telefonoCifrado),
                                    documentoIdentidad: try cipher.decrypt(mentor.documentoCifrado))
                : nil
            let hours = relations.hours[mentor.id]
            return MentorDTO(
                id: mentor.id, usuario: mentor.usuarioID, nombre: mentor.nombre, apellidos: mentor.apellidos,
                email: mentor.email, privado: privado, biografia: mentor.biografia, activo: mentor.activo,
                fechaAlta: mentor.fechaAlta,
                conocimientos: (relations.skills[mentor.id] ?? []).sorted { $0.nombre.lowercased() < $1.nombre.lowercased() },
                disponibilidad: relations.slots[mentor.id] ?? [],
                proyectos: relations.projects[mentor.id] ?? [],
                horas: detail ? MentorDTO.Horas(aprobadas: hours?[.aprobado] ?? 0, pendientes: hours?[.pendiente] ?? 0) : nil)
        }
    }
}

extension DisponibilidadDTO {
    init(_ slot: Disponibilidad) {
        self.init(diaSemana: slot.diaSemana, horaInicio: TimeOfDay(clamping: slot.horaInicio),
                  horaFin: TimeOfDay(clamping: slot.horaFin))
    }
}

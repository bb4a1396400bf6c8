import Fluent
import Foundation
import NIOConcurrencyHelpers
@testable import Plataforma

/// The password every fixture account has; hashed once per process (PBKDF2 at 600,000 rounds is slow on purpose).
let fixturePassword = "Mentoria-Segura-2026"

private let fixtureHash = NIOLockedValueBox<String?>(nil)

func fixturePasswordHash() throws -> String {
    try fixtureHash.withLockedValue { cached in
        if let cached { return cached }
        let hash = try PasswordHasher.hash(fixturePassword)
        cached = hash
        return hash
    }
}

extension TestApp {
    /// Creates an account directly in the database.
    @discardableResult
    func makeUser(_ rol: Rol = .mentor, email: String? = nil, nombre: String = "Ana", apellidos: String = "Pérez",
                  activo: Bool = true, passwordHash: String? = nil) async throws -> Usuario {
        let user = Usuario(
            email: email ?? "\(rol.rawValue)-\(UUID().uuidString.prefix(8).lowercased())@example.com",
            passwordHash: try passwordHash ?? fixturePasswordHash(), nombre: nombre, apellidos: apellidos, rol: rol,
            activo: activo)
        try await user.create(on: db)
        return user
    }

    /// An access token for `user`, minted the way `/api/token/` does.
    func accessToken(for user: Usuario) async throws -> String {
        try await tokens.issuePair(for: user, on: db).access
    }

    /// A full pair for `user`.
    func pair(for user: Usuario) async throws -> TokenPair {
        try await tokens.issuePair(for: user, on: db)
    }

    /// A user of `rol` and an access token for them.
    func userWithToken(_ rol: Rol) async throws -> (Usuario, String) {
        let user = try await makeUser(rol)
        return (user, try await accessToken(for: user))
    }
}

extension TestApp {
    /// A mentor profile, linked to `user` when given.
    @discardableResult
    func makeMentor(_ nombre: String = "Marta", apellidos: String = "López", email: String? = nil, user: Usuario? = nil,
                    activo: Bool = true, telefono: String? = nil) async throws -> Mentor {
        let mentor = Mentor(nombre: nombre, apellidos: apellidos,
                            email: email ?? "mentor-\(UUID().uuidString.prefix(8).lowercased())@example.com",
                            fechaAlta: LocalDate(year: 2025, month: 9, day: 1)!, usuarioID: user?.id)
        mentor.activo = activo
        mentor.telefonoCifrado = try app.fieldCipher.encrypt(telefono)
        try await mentor.create(on: db)
        return mentor
    }

    /// A mentor account with its linked profile and an access token.
    func mentorWithToken(_ nombre: String = "Marta") async throws -> (Mentor, String) {
        let user = try await makeUser(.mentor, nombre: nombre)
        let mentor = try await makeMentor(nombre, user: user)
        return (mentor, try await accessToken(for: user))
    }

    @discardableResult
    func makeConocimiento(_ nombre: String, categoria: String = "") async throws -> Conocimiento {
        let skill = Conocimiento(nombre: nombre, categoria: categoria)
        try await skill.create(on: db)
        return skill
    }

    @discardableResult
    func makeProyecto(_ nombre: String = "Robótica", estado: EstadoProyecto = .activo, mentors: [Mentor] = [],
                      inicio: LocalDate = LocalDate(year: 2025, month: 1, day: 1)!) async throws -> Proyecto {
        let project = Proyecto(nombre: nombre, estado: estado, fechaInicio: inicio)
        try await project.create(on: db)
        for mentor in mentors {
            try await ProyectoMentor(proyectoID: try project.requireID(), mentorID: try mentor.requireID()).create(on: db)
        }
        return project
    }
}

extension TestApp {
    @discardableResult
    func makeGrupo(_ nombre: String = "Grupo A", proyecto: Proyecto, mentors: [Mentor] = []) async throws -> Grupo {
        let group = Grupo(proyectoID: try proyecto.requireID(), nombre: nombre)
        try await group.create(on: db)
        for mentor in mentors {
            try await GrupoMentor(grupoID: try group.requireID(), mentorID: try mentor.requireID()).create(on: db)
        }
        return group
    }

    @discardableResult
    func makeCalendario(_ nombre: String = "Curso 2025-26", inicio: String = "2025-09-01", fin: String = "2026-06-30",
                        dias: [Int] = [0, 1, 2, 3, 4], activo: Bool = true) async throws -> CalendarioAcademico {
        let calendar = CalendarioAcademico(nombre: nombre, inicio: LocalDate(inicio)!, fin: LocalDate(fin)!, diasHabiles: dias,
                                           activo: activo)
        try await calendar.create(on: db)
        return calendar
    }

    @discardableResult
    func makeHorario(grupo: Grupo, calendario: CalendarioAcademico, dia: Int = 0, inicio: String = "09:00", fin: String = "11:00",
                     aula: String = "") async throws -> Horario {
        let slot = Horario(grupoID: try grupo.requireID(), calendarioID: try calendario.requireID(), diaSemana: dia,
                           horaInicio: TimeOfDay(inicio)!, horaFin: TimeOfDay(fin)!, aula: aula)
        try await slot.create(on: db)
        return slot
    }

    /// An hour record written directly (the registro-horas API comes with its own issue).
    @discardableResult
    func makeRegistro(mentor: Mentor, proyecto: Proyecto, grupo: Grupo? = nil, fecha: String, inicio: String, fin: String,
                      estado: EstadoRegistro = .pendiente) async throws -> RegistroHoras {
        let record = RegistroHoras()
        record.$mentor.id = try mentor.requireID()
        record.$proyecto.id = try proyecto.requireID()
        record.$grupo.id = grupo?.id
        record.fecha = fecha
        record.horaInicio = TimeOfDay(inicio)!.minutes
        record.horaFin = TimeOfDay(fin)!.minutes
        record.horas = Hours.fromMinutes(record.horaFin - record.horaInicio)
        record.descripcion = ""; record.estado = estado; record.motivoRechazo = ""; record.creado = Date()
        try await record.create(on: db)
        return record
    }
}

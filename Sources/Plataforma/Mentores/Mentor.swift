import Fluent
import Foundation

/// The level a mentor claims in a skill.
public enum Nivel: String, Codable, CaseIterable, Sendable {
    case basico, intermedio, avanzado, experto
}

/// A skill of the shared catalogue (`/api/conocimientos/`).
public final class Conocimiento: Model, @unchecked Sendable {
    public static let schema = "conocimientos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Field(key: "nombre") public var nombre: String
    /// Lowercased name: unique, so "Swift" and "swift" are one skill.
    @Field(key: "nombre_clave") public var nombreClave: String
    @Field(key: "categoria") public var categoria: String

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $nombre, $nombreClave, $categoria]
    }

    public init(nombre: String, categoria: String) {
        self.nombre = nombre
        self.nombreClave = nombre.lowercased()
        self.categoria = categoria
    }
}

/// A mentor's profile. `telefono` and `documento_identidad` are stored encrypted (SPEC §7).
public final class Mentor: Model, @unchecked Sendable {
    public static let schema = "mentores"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @OptionalParent(key: "usuario_id") public var usuario: Usuario?
    @Field(key: "nombre") public var nombre: String
    @Field(key: "apellidos") public var apellidos: String
    @Field(key: "email") public var email: String
    @Field(key: "email_clave") public var emailClave: String
    @OptionalField(key: "telefono_cifrado") public var telefonoCifrado: String?
    @OptionalField(key: "documento_cifrado") public var documentoCifrado: String?
    @Field(key: "biografia") public var biografia: String
    @Field(key: "activo") public var activo: Bool
    @Field(key: "fecha_alta") public var fechaAlta: String

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $usuario, $nombre, $apellidos, $email, $emailClave, $telefonoCifrado, $documentoCifrado, $biografia, $activo, $fechaAlta]
    }

    public init(nombre: String, apellidos: String, email: String, fechaAlta: LocalDate, usuarioID: Int? = nil) {
        self.nombre = nombre
        self.apellidos = apellidos
        self.email = email
        self.emailClave = EmailAddress.lookupKey(email)
        self.biografia = ""
        self.activo = true
        self.fechaAlta = fechaAlta.description
        self.$usuario.id = usuarioID
    }
}

/// A mentor's level in one catalogue skill.
public final class MentorConocimiento: Model, @unchecked Sendable {
    public static let schema = "mentor_conocimientos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "mentor_id") public var mentor: Mentor
    @Parent(key: "conocimiento_id") public var conocimiento: Conocimiento
    @Field(key: "nivel") public var nivel: Nivel

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $mentor, $conocimiento, $nivel]
    }

    public init(mentorID: Int, conocimientoID: Int, nivel: Nivel) {
        self.$mentor.id = mentorID
        self.$conocimiento.id = conocimientoID
        self.nivel = nivel
    }
}

/// One weekly availability slot (minutes since midnight).
public final class Disponibilidad: Model, @unchecked Sendable {
    public static let schema = "disponibilidades"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "mentor_id") public var mentor: Mentor
    @Field(key: "dia_semana") public var diaSemana: Int
    @Field(key: "hora_inicio") public var horaInicio: Int
    @Field(key: "hora_fin") public var horaFin: Int

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $mentor, $diaSemana, $horaInicio, $horaFin]
    }

    public init(mentorID: Int, diaSemana: Int, horaInicio: Int, horaFin: Int) {
        self.$mentor.id = mentorID
        self.diaSemana = diaSemana
        self.horaInicio = horaInicio
        self.horaFin = horaFin
    }
}

/// A certificate a mentor holds; its file, if any, is a `CertificadoArchivo`.
public final class Certificado: Model, @unchecked Sendable {
    public static let schema = "certificados"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "mentor_id") public var mentor: Mentor
    @Field(key: "nombre") public var nombre: String
    @Field(key: "entidad") public var entidad: String
    @Field(key: "fecha_obtencion") public var fechaObtencion: String
    @OptionalField(key: "fecha_expiracion") public var fechaExpiracion: String?
    @Field(key: "creado") public var creado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $mentor, $nombre, $entidad, $fechaObtencion, $fechaExpiracion, $creado]
    }
}

import Fluent
import Foundation

/// The life cycle of a project; hours can be logged only while `activo`.
public enum EstadoProyecto: String, Codable, CaseIterable, Sendable {
    case planificado, activo, pausado, finalizado, cancelado
}

/// A project mentors are assigned to and log hours against.
public final class Proyecto: Model, @unchecked Sendable {
    public static let schema = "proyectos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Field(key: "nombre") public var nombre: String
    @Field(key: "descripcion") public var descripcion: String
    @Field(key: "estado") public var estado: EstadoProyecto
    @Field(key: "fecha_inicio") public var fechaInicio: String
    @OptionalField(key: "fecha_fin") public var fechaFin: String?
    /// Hundredths of an hour.
    @Field(key: "horas_estimadas") public var horasEstimadas: Int
    @OptionalParent(key: "coordinador_id") public var coordinador: Usuario?
    @Field(key: "creado") public var creado: Date
    @Field(key: "actualizado") public var actualizado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $nombre, $descripcion, $estado, $fechaInicio, $fechaFin, $horasEstimadas, $coordinador, $creado, $actualizado]
    }

    public init(nombre: String, estado: EstadoProyecto, fechaInicio: LocalDate) {
        self.nombre = nombre
        self.descripcion = ""
        self.estado = estado
        self.fechaInicio = fechaInicio.description
        self.horasEstimadas = 0
        self.creado = Date()
        self.actualizado = Date()
    }
}

/// A mentor assigned to a project.
public final class ProyectoMentor: Model, @unchecked Sendable {
    public static let schema = "proyecto_mentores"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "proyecto_id") public var proyecto: Proyecto
    @Parent(key: "mentor_id") public var mentor: Mentor

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $proyecto, $mentor]
    }

    public init(proyectoID: Int, mentorID: Int) {
        self.$proyecto.id = proyectoID
        self.$mentor.id = mentorID
    }
}

/// A group of students inside a project.
public final class Grupo: Model, @unchecked Sendable {
    public static let schema = "grupos"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "proyecto_id") public var proyecto: Proyecto
    @Field(key: "nombre") public var nombre: String
    /// Lowercased name: unique within the project.
    @Field(key: "nombre_clave") public var nombreClave: String
    @Field(key: "descripcion") public var descripcion: String
    @Field(key: "num_estudiantes") public var numEstudiantes: Int

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $proyecto, $nombre, $nombreClave, $descripcion, $numEstudiantes]
    }

    public init(proyectoID: Int, nombre: String) {
        self.$proyecto.id = proyectoID
        self.nombre = nombre
        self.nombreClave = nombre.lowercased()
        self.descripcion = ""
        self.numEstudiantes = 0
    }
}

/// A mentor who teaches a group (always one of the project's mentors).
public final class GrupoMentor: Model, @unchecked Sendable {
    public static let schema = "grupo_mentores"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "grupo_id") public var grupo: Grupo
    @Parent(key: "mentor_id") public var mentor: Mentor

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $grupo, $mentor]
    }

    public init(grupoID: Int, mentorID: Int) {
        self.$grupo.id = grupoID
        self.$mentor.id = mentorID
    }
}

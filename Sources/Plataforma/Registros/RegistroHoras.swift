import Fluent
import Foundation

/// Review state of an hour record.
public enum EstadoRegistro: String, Codable, CaseIterable, Sendable {
    case pendiente, aprobado, rechazado
}

/// Hours a mentor worked on a project on one day.
public final class RegistroHoras: Model, @unchecked Sendable {
    public static let schema = "registro_horas"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @Parent(key: "mentor_id") public var mentor: Mentor
    @Parent(key: "proyecto_id") public var proyecto: Proyecto
    @OptionalParent(key: "grupo_id") public var grupo: Grupo?
    @Field(key: "fecha") public var fecha: String
    /// Minutes since midnight.
    @Field(key: "hora_inicio") public var horaInicio: Int
    @Field(key: "hora_fin") public var horaFin: Int
    /// Hundredths of an hour, derived from the times when written.
    @Field(key: "horas") public var horas: Int
    @Field(key: "descripcion") public var descripcion: String
    @Field(key: "estado") public var estado: EstadoRegistro
    @OptionalParent(key: "revisado_por_id") public var revisadoPor: Usuario?
    @OptionalField(key: "fecha_revision") public var fechaRevision: Date?
    @Field(key: "motivo_rechazo") public var motivoRechazo: String
    @Field(key: "creado") public var creado: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $mentor, $proyecto, $grupo, $fecha, $horaInicio, $horaFin, $horas, $descripcion, $estado, $revisadoPor, $fechaRevision, $motivoRechazo, $creado]
    }
}

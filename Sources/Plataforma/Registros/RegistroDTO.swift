import Foundation
import Vapor

/// An hour record as the API shows it (`horas` computed from the times).
struct RegistroDTO: Content {
    var id: Int
    var mentor: Int
    var proyecto: Int
    @Nullable var grupo: Int?
    var fecha: String
    var horaInicio: TimeOfDay
    var horaFin: TimeOfDay
    var horas: Double
    var descripcion: String
    var estado: EstadoRegistro
    @Nullable var revisadoPor: Int?
    @Nullable var fechaRevision: Date?
    var motivoRechazo: String
    var creado: Date
}

extension RegistroHoras {
    func toDTO() throws -> RegistroDTO {
        RegistroDTO(
            id: try requireID(), mentor: $mentor.id, proyecto: $proyecto.id, grupo: $grupo.id, fecha: fecha,
            horaInicio: TimeOfDay(clamping: horaInicio), horaFin: TimeOfDay(clamping: horaFin), horas: Hours.value(horas),
            descripcion: descripcion, estado: estado, revisadoPor: $revisadoPor.id, fechaRevision: fechaRevision,
            motivoRechazo: motivoRechazo, creado: creado)
    }
}

import Vapor

/// An academic calendar as the API shows it.
struct CalendarioDTO: Content {
    var id: Int
    var nombre: String
    var fechaInicio: String
    var fechaFin: String
    var diasHabiles: [Int]
    var activo: Bool
}

/// A holiday of a calendar.
struct DiaNoLectivoDTO: Content {
    var id: Int
    var fecha: String
    var descripcion: String
}

/// `GET /api/calendarios/{id}/dias-habiles/`: the business days in a range.
struct DiasHabilesDTO: Content {
    var desde: String
    var hasta: String
    var total: Int
    var dias: [String]
}

/// A weekly class slot as the API shows it (also nested, read-only, in a group).
public struct HorarioDTO: Content, Equatable {
    public var id: Int
    public var grupo: Int
    public var calendario: Int
    public var diaSemana: Int
    public var horaInicio: TimeOfDay
    public var horaFin: TimeOfDay
    public var aula: String
}

extension CalendarioAcademico {
    func toDTO() throws -> CalendarioDTO {
        CalendarioDTO(id: try requireID(), nombre: nombre, fechaInicio: fechaInicio, fechaFin: fechaFin,
                      diasHabiles: diasHabiles, activo: activo)
    }
}

extension DiaNoLectivo {
    func toDTO() throws -> DiaNoLectivoDTO {
        DiaNoLectivoDTO(id: try requireID(), fecha: fecha, descripcion: descripcion)
    }
}

extension Horario {
    func toDTO() throws -> HorarioDTO {
        HorarioDTO(id: try requireID(), grupo: $grupo.id, calendario: $calendario.id, diaSemana: diaSemana,
                   horaInicio: TimeOfDay(clamping: horaInicio), horaFin: TimeOfDay(clamping: horaFin), aula: aula)
    }
}

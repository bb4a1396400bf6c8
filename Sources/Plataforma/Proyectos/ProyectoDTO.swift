import Fluent
import FluentSQL
import Foundation
import SQLKit
import Vapor

/// A project as the API shows it; `horas_registradas` counts approved hours.
struct ProyectoDTO: Content {
    var id: Int
    var nombre: String
    var descripcion: String
    var estado: EstadoProyecto
    var fechaInicio: String
    @Nullable var fechaFin: String?
    var horasEstimadas: Double
    @Nullable var coordinador: Int?
    var mentores: [Int]
    var creado: Date
    var actualizado: Date
    var horasRegistradas: Double
    var numGrupos: Int
}

/// Builds `ProyectoDTO`s for a page with one grouped query per figure (no N+1).
enum ProyectoAssembler {
    static func dtos(_ projects: [Proyecto], on database: any Database) async throws -> [ProyectoDTO] {
        let ids = projects.compactMap(\.id)
        guard !ids.isEmpty, let sql = database as? any SQLDatabase else { return [] }
        let assignments = try await ProyectoMentor.query(on: database).filter(\.$proyecto.$id ~~ ids).sort(\.$mentor.$id).all()
        let mentors = Dictionary(grouping: assignments, by: { $0.$proyecto.id }).mapValues { $0.map { $0.$mentor.id } }
        let groups = try await sql.select().column("proyecto_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
            .from(Grupo.schema).where("proyecto_id", .in, ids).groupBy("proyecto_id").all()
        var groupCounts: [Int: Int] = [:]
        for row in groups { groupCounts[try row.decode(column: "proyecto_id", as: Int.self)] = try row.decode(column: "n", as: Int.self) }
        let hours = try await sql.select().column("proyecto_id").column(SQLIntegerSum("horas"), as: "total")
            .from(RegistroHoras.schema).where("proyecto_id", .in, ids).where("estado", .equal, EstadoRegistro.aprobado.rawValue)
            .groupBy("proyecto_id").all()
        var approved: [Int: Int] = [:]
        for row in hours { approved[try row.decode(column: "proyecto_id", as: Int.self)] = try row.decode(column: "total", as: Int?.self) ?? 0 }
        return try projects.map { project in
            let id = try project.requireID()
            return ProyectoDTO(
                id: id, nombre: project.nombre, descripcion: project.descripcion, estado: project.estado,
                fechaInicio: project.fechaInicio, fechaFin: project.fechaFin, horasEstimadas: Hours.value(project.horasEstimadas),
                coordinador: project.$coordinador.id, mentores: mentors[id] ?? [], creado: project.creado,
                actualizado: project.actualizado, horasRegistradas: Hours.value(approved[id] ?? 0), numGrupos: groupCounts[id] ?? 0)
        }
    }
}

extension Usuario {
    /// The mentor profile linked to this account, if any.
    func mentorProfile(on database: any Database) async throws -> Mentor? {
        guard let id else { return nil }
        return try await Mentor.query(on: database).filter(\.$usuario.$id == id).first()
    }
}

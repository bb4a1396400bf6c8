import Fluent
import Foundation
import Vapor

/// An audit entry as `/api/auditoria/` shows it.
struct EntradaAuditoriaDTO: Content {
    var id: Int
    @Nullable var usuario: Int?
    var accion: AccionAuditoria
    var recurso: String
    @Nullable var recursoId: String?
    var cambios: JSONValue
    var ip: String
    var fecha: Date
}

extension EntradaAuditoria {
    func toDTO() throws -> EntradaAuditoriaDTO {
        let changes = cambios.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) } ?? .null
        return EntradaAuditoriaDTO(id: try requireID(), usuario: $usuario.id, accion: accion, recurso: recurso,
                                   recursoId: recursoID, cambios: changes, ip: ip, fecha: fecha)
    }
}

/// `GET /api/auditoria/` (admins): newest first, filters `usuario, accion, recurso, desde, hasta`.
struct AuditoriaController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("auditoria", use: list)
    }

    @Sendable func list(req: Request) async throws -> Page<EntradaAuditoriaDTO> {
        try req.authorize(.leer, on: .auditoria)
        var filters = QueryFilters(req)
        let usuario = filters.id("usuario")
        let accion = filters.choice("accion", AccionAuditoria.self)
        let recurso = filters.text("recurso", maxLength: 100)
        let desde = filters.date("desde")
        let hasta = filters.date("hasta")
        if let desde, let hasta, hasta < desde { filters.errors.add("hasta", "Debe ser igual o posterior a desde.") }
        try filters.finish()
        let zone = req.application.settings.timeZone
        let query = EntradaAuditoria.query(on: req.db)
        if let usuario { query.filter(\.$usuario.$id == usuario) }
        if let accion { query.filter(\.$accion == accion) }
        if let recurso { query.filter(\.$recurso == recurso) }
        if let desde { query.filter(\.$fecha >= desde.instant(minutes: 0, in: zone)) }
        if let hasta { query.filter(\.$fecha < hasta.adding(days: 1).instant(minutes: 0, in: zone)) }
        query.sort(\.$id, .descending)
        return try await Paginator.paginate(query, request: req) { try $0.toDTO() }
    }
}

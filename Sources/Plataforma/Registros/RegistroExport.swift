import Fluent
import Foundation
import NIOCore
import Vapor

/// `GET /api/registro-horas/exportar/?formato=csv`: the filtered records as RFC 4180 CSV,
/// streamed in batches of 1,000 rows, so memory stays flat at any size.
struct RegistroExportController {
    static let header = "id,fecha,hora_inicio,hora_fin,horas,mentor_id,mentor,proyecto_id,proyecto,grupo_id,grupo,estado,descripcion,revisado_por,fecha_revision"
    static let batchSize = 1_000

    func boot(routes: any RoutesBuilder) {
        routes.get("registro-horas", "exportar", use: export)
    }

    @Sendable func export(req: Request) async throws -> Response {
        let formato = req.queryParameter("formato") ?? "csv"
        guard formato == "csv" else {
            throw APIError.field("formato", "\"\(formato.prefix(50))\" no es una elección válida.")
        }
        // Validate the filters now, so a bad one is a 400 and not a broken stream.
        _ = try await RegistroFilters.apply(RegistroController.visible(req), request: req)
        let db = req.db
        let logger = req.logger
        let response = Response(status: .ok, body: .init(asyncStream: { writer in
            do {
                try await writer.writeBuffer(ByteBuffer(string: Self.header + "\r\n"))
                var lastID = 0
                while true {
                    let batch = try await RegistroFilters.apply(RegistroController.visible(req), request: req)
                        .filter(\.$id > lastID).sort(\.$id).limit(Self.batchSize).all()
                    guard let last = batch.last?.id else { break }
                    lastID = last
                    try await writer.writeBuffer(ByteBuffer(string: try await Self.rows(batch, on: db)))
                    if batch.count < Self.batchSize { break }
                }
                try await writer.write(.end)
            } catch {
                logger.error("CSV export failed", metadata: ["error": "\(String(reflecting: error))"])
                try? await writer.write(.error(error))
            }
        }, count: -1))
        response.headers.contentType = HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
        let stamp = LocalDate.today(in: req.application.settings.timeZone)
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"registro-horas-\(stamp).csv\"")
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return response
    }

    /// One batch as CSV lines; names come from one query per related table.
    static func rows(_ batch: [RegistroHoras], on db: any Database) async throws -> String {
        let mentors = try await Mentor.query(on: db).filter(\.$id ~~ Set(batch.map { $0.$mentor.id })).all()
        let projects = try await Proyecto.query(on: db).filter(\.$id ~~ Set(batch.map { $0.$proyecto.id })).all()
        let groups = try await Grupo.query(on: db).filter(\.$id ~~ Set(batch.compactMap { $0.$grupo.id })).all()
        let reviewers = try await Usuario.query(on: db).filter(\.$id ~~ Set(batch.compactMap { $0.$revisadoPor.id })).all()
        let mentorNames = Dictionary(uniqueKeysWithValues: mentors.compactMap { m in m.id.map { ($0, "\(m.nombre) \(m.apellidos)") } })
        let projectNames = Dictionary(uniqueKeysWithValues: projects.compactMap { p in p.id.map { ($0, p.nombre) } })
        let groupNames = Dictionary(uniqueKeysWithValues: groups.compactMap { g in g.id.map { ($0, g.nombre) } })
        let reviewerEmails = Dictionary(uniqueKeysWithValues: reviewers.compactMap { u in u.id.map { ($0, u.email) } })
        let formatter = ISO8601DateFormatter()
        var text = ""
        text.reserveCapacity(batch.count * 160)
        for record in batch {
            let fields: [String] = [
                String(record.id ?? 0), record.fecha, TimeOfDay(clamping: record.horaInicio).description,
                TimeOfDay(clamping: record.horaFin).description, Hours.format(record.horas),
                String(record.$mentor.id), mentorNames[record.$mentor.id] ?? "",
                String(record.$proyecto.id), projectNames[record.$proyecto.id] ?? "",
                record.$grupo.id.map(String.init) ?? "", record.$grupo.id.flatMap { groupNames[$0] } ?? "",
                record.estado.rawValue, record.descripcion,
                record.$revisadoPor.id.flatMap { reviewerEmails[$0] } ?? "",
                record.fechaRevision.map { formatter.string(from: $0) } ?? "",
            ]
            text += fields.map(csvField).joined(separator: ",") + "\r\n"
        }
        return text
    }

    /// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets
    /// don't run user text as a formula.
    static func csvField(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@\t\r".contains(first), Double(value) == nil { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

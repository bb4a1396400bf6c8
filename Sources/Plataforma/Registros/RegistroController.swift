import Fluent
import FluentSQL
import SQLKit
import Vapor

/// `/api/registro-horas/`: hours mentors log and coordinators review (SPEC §5).
struct RegistroController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let registros = routes.grouped("registro-horas")
        registros.get(use: list)
        registros.post(use: create)
        registros.post("revisar-lote", use: reviewBatch)
        registros.get(":id", use: detail)
        registros.put(":id", use: replace)
        registros.patch(":id", use: patch)
        registros.delete(":id", use: delete)
        registros.post(":id", "aprobar", use: approve)
        registros.post(":id", "rechazar", use: reject)
    }

    static let ordering: [String: FieldKey] = ["fecha": "fecha", "horas": "horas", "creado": "creado"]
    static let notPending = "Solo se pueden revisar registros pendientes."

    /// The records the caller may read: all, or a mentor's own.
    static func visible(_ req: Request, accion: Accion = .leer) async throws -> QueryBuilder<RegistroHoras> {
        let query = RegistroHoras.query(on: req.db)
        if try req.authorize(accion, on: .registroHoras) == .propio {
            query.filter(\.$mentor.$id == (try await ownMentor(req).requireID()))
        }
        return query
    }

    /// A mentor account's profile; logging hours needs one.
    static func ownMentor(_ req: Request) async throws -> Mentor {
        guard let mentor = try await req.requireUser().mentorProfile(on: req.db) else {
            throw APIError.permissionDenied("Su cuenta no tiene un perfil de mentor.")
        }
        return mentor
    }

    static func find(_ req: Request, accion: Accion = .leer) async throws -> RegistroHoras {
        guard let id = req.parameters.get("id", as: Int.self),
              let record = try await visible(req, accion: accion).filter(\.$id == id).first() else { throw APIError.notFound }
        return record
    }

    @Sendable func list(req: Request) async throws -> Page<RegistroDTO> {
        let query = try await RegistroFilters.apply(Self.visible(req), request: req)
        OrderingFilter.apply(query, request: req, fields: Self.ordering, fallback: [("fecha", .descending), ("hora_inicio", .descending)])
        return try await Paginator.paginate(query, request: req) { try $0.toDTO() }
    }

    @Sendable func detail(req: Request) async throws -> RegistroDTO {
        try await Self.find(req).toDTO()
    }

    /// Creates a record; honours `Idempotency-Key`; overlapping concurrent creates: one wins.
    @Sendable func create(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let own = try req.authorize(.crear, on: .registroHoras) == .propio ? try await Self.ownMentor(req) : nil
        let ownID = try own?.requireID()
        let today = LocalDate.today(in: req.application.settings.timeZone)
        return try await Idempotency.run(req, userID: try user.requireID()) { db in
            var input = try JSONInput.parse(req)
            let values = RegistroRules.read(&input, existing: nil, ownMentorID: ownID)
            try input.finish()
            guard let values else { throw APIError.parseError }
            try await RegistroRules.lockMentor(values.mentorID, on: db)
            var errors = FieldErrors()
            try await RegistroRules.validate(values, errors: &errors, today: today, on: db)
            try errors.throwIfAny()
            if let other = try await RegistroRules.overlapping(values, excluding: nil, on: db) {
                throw APIError.field("non_field_errors", RegistroRules.overlapMessage(other))
            }
            let record = RegistroHoras()
            RegistroRules.apply(values, to: record)
            record.estado = .pendiente
            record.motivoRechazo = ""
            record.creado = Date()
            try await record.create(on: db)
            try await req.audit(.crear, "registro-horas", id: record.id, despues: try record.toDTO(), on: db)
            return try await record.toDTO().encodeResponse(status: .created, for: req)
        }
    }

    @Sendable func replace(req: Request) async throws -> RegistroDTO { try await update(req, partial: false) }
    @Sendable func patch(req: Request) async throws -> RegistroDTO { try await update(req, partial: true) }

    /// Mentors change their own records only while `pendiente` (403 after review).
    static func requireChangeable(_ record: RegistroHoras, req: Request, accion: Accion) throws {
        if try req.authorize(accion, on: .registroHoras) == .propio, record.estado != .pendiente {
            throw APIError.permissionDenied("Solo puede modificar registros pendientes.")
        }
    }

    private func update(_ req: Request, partial: Bool) async throws -> RegistroDTO {
        let record = try await Self.find(req)
        try Self.requireChangeable(record, req: req, accion: .editar)
        let ownID = try req.authorize(.editar, on: .registroHoras) == .propio ? record.$mentor.id : nil
        var input = try JSONInput.parse(req, partial: partial)
        let values = RegistroRules.read(&input, existing: record, ownMentorID: ownID)
        try input.finish()
        guard let values else { throw APIError.parseError }
        let today = LocalDate.today(in: req.application.settings.timeZone)
        let id = try record.requireID()
        let recordMentor = record.$mentor.id
        try await req.writeTransaction { db in
            for mentorID in Set([recordMentor, values.mentorID]).sorted() {
                try await RegistroRules.lockMentor(mentorID, on: db)
            }
            // Re-read under the lock: a review may have landed since the first read.
            guard let current = try await RegistroHoras.find(id, on: db) else { throw APIError.notFound }
            try Self.requireChangeable(current, req: req, accion: .editar)
            let before = try current.toDTO()
            var errors = FieldErrors()
            try await RegistroRules.validate(values, errors: &errors, today: today, on: db)
            try errors.throwIfAny()
            if let other = try await RegistroRules.overlapping(values, excluding: id, on: db) {
                throw APIError.field("non_field_errors", RegistroRules.overlapMessage(other))
            }
            RegistroRules.apply(values, to: current)
            try await current.save(on: db)
            try await req.audit(.actualizar, "registro-horas", id: id, antes: before, despues: try current.toDTO(), on: db)
        }
        guard let saved = try await RegistroHoras.find(id, on: req.db) else { throw APIError.notFound }
        return try saved.toDTO()
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let record = try await Self.find(req)
        try Self.requireChangeable(record, req: req, accion: .eliminar)
        let scope = try req.authorize(.eliminar, on: .registroHoras)
        let id = try record.requireID()
        try await req.writeTransaction { db in
            let query = RegistroHoras.query(on: db).filter(\.$id == id)
            // A mentor's delete only lands if the record is still pending at that instant.
            if scope == .propio { query.filter(\.$estado == .pendiente) }
            guard let current = try await query.first() else {
                throw scope == .propio ? APIError.permissionDenied("Solo puede modificar registros pendientes.") : APIError.notFound
            }
            try await current.delete(on: db)
            try await req.audit(.eliminar, "registro-horas", id: id, antes: try current.toDTO(), on: db)
        }
        return .noContent
    }

    @Sendable func approve(req: Request) async throws -> RegistroDTO {
        try await review(req, estado: .aprobado, motivo: "")
    }

    @Sendable func reject(req: Request) async throws -> RegistroDTO {
        try req.authorize(.aprobar, on: .registroHoras)
        var input = try JSONInput.parse(req)
        let motivo = input.string("motivo", maxLength: 1_000)
        try input.finish()
        return try await review(req, estado: .rechazado, motivo: motivo ?? "")
    }

    /// A conditional UPDATE (`… AND estado = 'pendiente'`) makes a double review impossible.
    private func review(_ req: Request, estado: EstadoRegistro, motivo: String) async throws -> RegistroDTO {
        try req.authorize(.aprobar, on: .registroHoras)
        let record = try await Self.find(req)
        let reviewer = try req.requireUser().requireID()
        let id = try record.requireID()
        return try await req.writeTransaction { db in
            let updated = try await Self.markReviewed([id], estado: estado, motivo: motivo, reviewer: reviewer, on: db)
            guard updated.count == 1 else { throw APIError.field("non_field_errors", Self.notPending) }
            guard let saved = try await RegistroHoras.find(id, on: db) else { throw APIError.notFound }
            try await req.audit(estado == .aprobado ? .aprobar : .rechazar, "registro-horas", id: id,
                                antes: ["estado": "pendiente"] as JSONValue,
                                despues: ["estado": .string(estado.rawValue), "motivo_rechazo": .string(motivo)] as JSONValue, on: db)
            return try saved.toDTO()
        }
    }

    static func markReviewed(_ ids: [Int], estado: EstadoRegistro, motivo: String, reviewer: Int,
                             on db: any Database) async throws -> [Int] {
        guard let sql = db as? any SQLDatabase else { return [] }
        return try await sql.update(RegistroHoras.schema)
            .set("estado", to: estado.rawValue).set("motivo_rechazo", to: motivo)
            .set("revisado_por_id", to: reviewer).set("fecha_revision", to: Date())
            .where("id", .in, ids).where("estado", .equal, EstadoRegistro.pendiente.rawValue)
            .returning("id").all()
            .map { try $0.decode(column: "id", as: Int.self) }
    }

    struct BatchResult: Content {
        var actualizados: Int
        var ids: [Int]
    }

    /// `POST /api/registro-horas/revisar-lote/`: all or none.
    @Sendable func reviewBatch(req: Request) async throws -> BatchResult {
        try req.authorize(.aprobar, on: .registroHoras)
        enum BatchAction: String, CaseIterable { case aprobar, rechazar }
        var input = try JSONInput.parse(req)
        let ids = input.idList("ids")
        let accion = input.choice("accion", BatchAction.self)
        let motivo = input.string("motivo", required: accion == .rechazar, allowBlank: accion != .rechazar, maxLength: 1_000)
        if let ids, ids.isEmpty { input.errors.add("ids", "Esta lista no puede estar vacía.") }
        if let ids, ids.count > 1_000 { input.errors.add("ids", "Asegúrese de que este campo no tenga más de 1000 elementos.") }
        try input.finish()
        guard let ids, let accion else { throw APIError.parseError }
        let reviewer = try req.requireUser().requireID()
        let estado: EstadoRegistro = accion == .aprobar ? .aprobado : .rechazado
        let updated = try await req.writeTransaction { db -> [Int] in
            let found = try await RegistroHoras.query(on: db).filter(\.$id ~~ ids).all()
            let known = Set(found.compactMap(\.id))
            var errors = FieldErrors()
            let missing = ids.filter { !known.contains($0) }
            if !missing.isEmpty { errors.add("ids", "No existen los registros: \(missing.map(String.init).joined(separator: ", ")).") }
            let reviewed = found.filter { $0.estado != .pendiente }.compactMap(\.id).sorted()
            if !reviewed.isEmpty { errors.add("ids", "No están pendientes: \(reviewed.map(String.init).joined(separator: ", ")).") }
            try errors.throwIfAny()
            let updated = try await Self.markReviewed(ids, estado: estado, motivo: accion == .rechazar ? motivo ?? "" : "",
                                                      reviewer: reviewer, on: db)
            // Another reviewer got some first: roll everything back.
            guard updated.count == ids.count else { throw APIError.field("ids", Self.notPending) }
            for id in updated.sorted() {
                try await req.audit(estado == .aprobado ? .aprobar : .rechazar, "registro-horas", id: id,
                                    antes: ["estado": "pendiente"] as JSONValue,
                                    despues: ["estado": .string(estado.rawValue), "lote": true] as JSONValue, on: db)
            }
            return updated
        }
        return BatchResult(actualizados: updated.count, ids: updated.sorted())
    }
}

/// The list filters of hour records, shared by the list and the CSV export.
enum RegistroFilters {
    static func apply(_ query: QueryBuilder<RegistroHoras>, request: Request) throws -> QueryBuilder<RegistroHoras> {
        var filters = QueryFilters(request)
        let mentor = filters.id("mentor")
        let proyecto = filters.id("proyecto")
        let grupo = filters.id("grupo")
        let estado = filters.choice("estado", EstadoRegistro.self)
        let desde = filters.date("desde")
        let hasta = filters.date("hasta")
        if let desde, let hasta, hasta < desde { filters.errors.add("hasta", "Debe ser igual o posterior a desde.") }
        try filters.finish()
        if let mentor { query.filter(\.$mentor.$id == mentor) }
        if let proyecto { query.filter(\.$proyecto.$id == proyecto) }
        if let grupo { query.filter(\.$grupo.$id == grupo) }
        if let estado { query.filter(\.$estado == estado) }
        if let desde { query.filter(\.$fecha >= desde.description) }
        if let hasta { query.filter(\.$fecha <= hasta.description) }
        SearchFilter.apply(query, request: request, columns: ["descripcion"])
        return query
    }
}

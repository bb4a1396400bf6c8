import Fluent
import FluentSQL
import SQLKit
import Vapor

/// `/api/mentores/`: profiles, their skills, weekly availability and certificates (SPEC §5).
struct MentorController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let mentores = routes.grouped("mentores")
        mentores.get(use: list)
        mentores.post(use: create)
        mentores.get(":id", use: detail)
        mentores.put(":id", use: replace)
        mentores.patch(":id", use: patch)
        mentores.delete(":id", use: delete)
        mentores.get(":id", "disponibilidad", use: availability)
        mentores.put(":id", "disponibilidad", use: replaceAvailability)
    }

    static let ordering: [String: FieldKey] = ["nombre": "nombre", "apellidos": "apellidos", "fecha_alta": "fecha_alta"]

    @Sendable func list(req: Request) async throws -> Page<MentorDTO> {
        try req.authorize(.leer, on: .mentores)
        let viewer = try req.requireUser()
        let query = try Self.filtered(Mentor.query(on: req.db), request: req)
        OrderingFilter.apply(query, request: req, fields: Self.ordering, fallback: [("apellidos", .ascending), ("nombre", .ascending)])
        let cipher = req.application.fieldCipher
        // Unfiltered, the total is the trigger-kept count of mentors: no count of the table per page.
        let total: Paginator.Total = query.query.filters.isEmpty ? .expression(MetricasContadores.mentores) : .count
        return try await Paginator.paginateRows(query, request: req, columns: MentorRow.columns, total: total,
                                                decode: MentorRow.init(row:), mapPage: { rows in
            try await MentorAssembler.dtos(rows: rows, viewer: viewer, detail: false, on: req.db, cipher: cipher)
        })
    }

    /// Filters of SPEC §5: search (names, email, skill), activo, conocimiento (id or name),
    /// proyecto, disponible_dia with optional disponible_hora.
    static func filtered(_ query: QueryBuilder<Mentor>, request: Request) throws -> QueryBuilder<Mentor> {
        var filters = QueryFilters(request)
        let activo = filters.bool("activo")
        let proyecto = filters.id("proyecto")
        let dia = filters.int("disponible_dia")
        if let dia, !(0...6).contains(dia) { filters.errors.add("disponible_dia", "Asegúrese de que este valor está entre 0 y 6.") }
        let hora = filters.time("disponible_hora")
        let conocimiento = filters.text("conocimiento")
        try filters.finish()

        if let activo { query.filter(\.$activo == activo) }
        if let proyecto {
            query.filter(SQLFilters.columnIn("id", of: Mentor.schema) {
                $0.column("mentor_id").from(ProyectoMentor.schema).where("proyecto_id", .equal, proyecto)
            })
        }
        if let dia, (0...6).contains(dia) {
            query.filter(SQLFilters.columnIn("id", of: Mentor.schema) { select in
                let builder = select.column("mentor_id").from(Disponibilidad.schema).where("dia_semana", .equal, dia)
                if let hora {
                    builder.where("hora_inicio", .lessThanOrEqual, hora.minutes).where("hora_fin", .greaterThan, hora.minutes)
                }
                return builder
            })
        }
        if let conocimiento {
            query.filter(SQLFilters.columnIn("id", of: Mentor.schema) { select in
                let builder = select.column("mentor_id").from(MentorConocimiento.schema)
                if let id = Int(conocimiento) {
                    return builder.where("conocimiento_id", .equal, id)
                }
                return builder.where("conocimiento_id", .in, SQLGroupExpression(SQLSubquery.select {
                    $0.column("id").from(Conocimiento.schema).where("nombre_clave", .equal, conocimiento.lowercased())
                }))
            })
        }
        SearchFilter.apply(query, request: request, columns: ["nombre", "apellidos", "email"], related: [{ term in
            SQLFilters.columnIn("id", of: Mentor.schema) {
                $0.column(SQLColumn("mentor_id", table: "mc")).from(SQLAlias(SQLIdentifier(MentorConocimiento.schema), as: SQLIdentifier("mc")))
                    .join(SQLAlias(SQLIdentifier(Conocimiento.schema), as: SQLIdentifier("c")), method: SQLJoinMethod.inner,
                          on: SQLColumn("id", table: "c"), .equal, SQLColumn("conocimiento_id", table: "mc"))
                    .where(SQLFilters.containsInsensitive(SQLColumn("nombre", table: "c"), term))
            }
        }])
        return query
    }

    @Sendable func detail(req: Request) async throws -> MentorDTO {
        try req.authorize(.leer, on: .mentores)
        guard let id = req.parameters.get("id", as: Int.self), let mentor = try await MentorRow.find(id, on: req.db) else {
            throw APIError.notFound
        }
        let dtos = try await MentorAssembler.dtos(rows: [mentor], viewer: try req.requireUser(), detail: true, on: req.db,
                                                  cipher: req.application.fieldCipher)
        guard let dto = dtos.first else { throw APIError.notFound }
        return dto
    }

    static func dto(_ mentor: Mentor, req: Request) async throws -> MentorDTO {
        let dtos = try await MentorAssembler.dtos([mentor], viewer: try req.requireUser(), detail: true, on: req.db,
                                                  cipher: req.application.fieldCipher)
        guard let dto = dtos.first else { throw APIError.notFound }
        return dto
    }

    static func find(_ req: Request) async throws -> Mentor {
        try await req.findOr404(Mentor.self)
    }

    /// A mentor may change only their own profile; admins and coordinators any.
    static func requireEditable(_ mentor: Mentor, req: Request) throws -> Usuario {
        let user = try req.requireUser()
        if try req.authorize(.editar, on: .mentores) == .propio, !MentorRules.isOwn(mentor, by: user) {
            throw APIError.permissionDenied
        }
        return user
    }

    @Sendable func create(req: Request) async throws -> Response {
        try req.authorize(.crear, on: .mentores)
        var input = try JSONInput.parse(req)
        let fields = try await MentorRules.read(&input, existing: nil, adminFields: true, on: req.db)
        let mentor = Mentor(nombre: fields.nombre ?? "", apellidos: fields.apellidos ?? "", email: fields.email ?? "",
                            fechaAlta: fields.fechaAlta ?? LocalDate.today(in: req.application.settings.timeZone))
        try await Self.save(mentor, fields: fields, req: req, before: nil)
        return try await Self.dto(mentor, req: req).encodeResponse(status: .created, for: req)
    }

    @Sendable func replace(req: Request) async throws -> MentorDTO { try await update(req: req, partial: false) }
    @Sendable func patch(req: Request) async throws -> MentorDTO { try await update(req: req, partial: true) }

    private func update(req: Request, partial: Bool) async throws -> MentorDTO {
        let mentor = try await Self.find(req)
        let user = try Self.requireEditable(mentor, req: req)
        var input = try JSONInput.parse(req, partial: partial)
        let fields = try await MentorRules.read(&input, existing: mentor, adminFields: user.rol != .mentor, on: req.db)
        try await Self.save(mentor, fields: fields, req: req, before: try Auditor.snapshot(mentor))
        return try await Self.dto(mentor, req: req)
    }

    /// Writes the profile and replaces the sent nested sets, all in one transaction with its
    /// audit entry (`before` is the stored profile when updating).
    static func save(_ mentor: Mentor, fields: MentorRules.Fields, req: Request, before: JSONValue?) async throws {
        let cipher = req.application.fieldCipher
        if let nombre = fields.nombre { mentor.nombre = nombre }
        if let apellidos = fields.apellidos { mentor.apellidos = apellidos }
        if let email = fields.email {
            mentor.email = email
            mentor.emailClave = EmailAddress.lookupKey(email)
        }
        if let telefono = fields.telefono { mentor.telefonoCifrado = try cipher.encrypt(telefono) }
        if let documento = fields.documento { mentor.documentoCifrado = try cipher.encrypt(documento.flatMap { $0.isEmpty ? nil : $0 }) }
        if let biografia = fields.biografia { mentor.biografia = biografia }
        if let activo = fields.activo { mentor.activo = activo }
        if let fechaAlta = fields.fechaAlta { mentor.fechaAlta = fechaAlta.description }
        if let usuario = fields.usuario { mentor.$usuario.id = usuario }
        // Two writers may race past the checks; then the unique indexes decide.
        try await mappingConstraintFailure(to: .field("non_field_errors", Self.concurrentConflict)) {
            try await req.writeTransaction { db in
                try await mentor.save(on: db)
                let id = try mentor.requireID()
                if let skills = fields.conocimientos {
                    try await MentorConocimiento.query(on: db).filter(\.$mentor.$id == id).delete()
                    for (skill, nivel) in skills {
                        try await MentorConocimiento(mentorID: id, conocimientoID: skill, nivel: nivel).create(on: db)
                    }
                }
                if let slots = fields.disponibilidad { try await replaceSlots(slots, mentorID: id, on: db) }
                var after = try Auditor.snapshot(mentor)
                if case .object(var values) = after {
                    if let skills = fields.conocimientos {
                        values["conocimientos"] = .array(skills.map { ["conocimiento": .int(Int64($0.0)), "nivel": .string($0.1.rawValue)] })
                    }
                    if let slots = fields.disponibilidad { values["disponibilidad"] = try Auditor.snapshot(slots) }
                    after = .object(values)
                }
                try await req.audit(before == nil ? .crear : .actualizar, "mentores", id: id, antes: before, despues: after, on: db)
            }
        }
    }

    static func replaceSlots(_ slots: [DisponibilidadDTO], mentorID: Int, on db: any Database) async throws {
        try await Disponibilidad.query(on: db).filter(\.$mentor.$id == mentorID).delete()
        for slot in slots {
            try await Disponibilidad(mentorID: mentorID, diaSemana: slot.diaSemana,
                                     horaInicio: slot.horaInicio.minutes, horaFin: slot.horaFin.minutes).create(on: db)
        }
    }

    static let concurrentConflict = "Otro cambio simultáneo entra en conflicto con este (email o usuario ya en uso)."
    static let hasRecords = "El mentor tiene horas registradas; desactívelo (activo=false) en lugar de eliminarlo."

    /// Mentors with hour records are retired (`activo=false`), not deleted: 409.
    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        try req.authorize(.eliminar, on: .mentores)
        let mentor = try await Self.find(req)
        let id = try mentor.requireID()
        if try await RegistroHoras.query(on: req.db).filter(\.$mentor.$id == id).count() > 0 {
            throw APIError.conflict(Self.hasRecords)
        }
        let before = try Auditor.snapshot(mentor)
        let blobs = try await CertificadoArchivo.blobs(ofMentor: id, on: req.db)
        try await mappingConstraintFailure(to: .conflict(Self.hasRecords)) {
            try await req.writeTransaction { db in
                try await mentor.delete(on: db)
                try await req.audit(.eliminar, "mentores", id: id, antes: before, on: db)
            }
        }
        try await BlobStore.releaseAll(Set(blobs), req: req)
        return .noContent
    }

    @Sendable func availability(req: Request) async throws -> [DisponibilidadDTO] {
        try req.authorize(.leer, on: .mentores)
        let mentor = try await Self.find(req)
        return try await Disponibilidad.query(on: req.db).filter(\.$mentor.$id == mentor.requireID())
            .sort(\.$diaSemana).sort(\.$horaInicio).all().map(DisponibilidadDTO.init)
    }

    /// PUT replaces the whole weekly set; the body is a plain array.
    @Sendable func replaceAvailability(req: Request) async throws -> [DisponibilidadDTO] {
        let mentor = try await Self.find(req)
        _ = try Self.requireEditable(mentor, req: req)
        let value = try JSONInput.parseValue(req)
        guard case .array(let items) = value else {
            var errors = FieldErrors()
            errors.addNonField("Se esperaba una lista de elementos en vez del tipo \"\(value.pythonTypeName)\".")
            throw APIError.validation(errors)
        }
        guard items.count <= 100 else { throw APIError.field("non_field_errors", "Asegúrese de que no haya más de 100 franjas.") }
        var errors = FieldErrors()
        let slots = MentorRules.readSlots(items, field: nil, into: &errors)
        try errors.throwIfAny()
        let id = try mentor.requireID()
        try await req.writeTransaction { db in
            try await Self.replaceSlots(slots, mentorID: id, on: db)
            try await req.audit(.actualizar, "mentores", id: id, despues: ["disponibilidad": try Auditor.snapshot(slots)] as JSONValue, on: db)
        }
        return slots.sorted { ($0.diaSemana, $0.horaInicio) < ($1.diaSemana, $1.horaInicio) }
    }
}

import Fluent
import FluentSQL
import SQLKit
import Vapor

/// A group as the API shows it.
struct GrupoDTO: Content {
    var id: Int
    var proyecto: Int
    var nombre: String
    var descripcion: String
    var mentores: [Int]
    var numEstudiantes: Int
    /// Read-only: the group's class slots (written through `/api/horarios/`).
    var horarios: [HorarioDTO]
}

/// `/api/proyectos/{id}/grupos/`: groups inside a project; readable by whoever may read the project.
struct GrupoController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        let grupos = routes.grouped("proyectos", ":id", "grupos")
        grupos.get(use: list)
        grupos.post(use: create)
        grupos.get(":gid", use: detail)
        grupos.put(":gid", use: replace)
        grupos.patch(":gid", use: patch)
        grupos.delete(":gid", use: delete)
    }

    static let duplicate = "Ya existe un grupo con este nombre en el proyecto."

    static func dtos(_ groups: [Grupo], on db: any Database) async throws -> [GrupoDTO] {
        try await dtos(rows: groups.map(GrupoRow.init), on: db)
    }

    /// The page's groups with their mentors and class slots (one more statement, `GrupoRelations`).
    static func dtos(rows: [GrupoRow], on db: any Database) async throws -> [GrupoDTO] {
        let relations = try await GrupoRelations.load(groupIDs: rows.map(\.id), on: db)
        return rows.map { row in
            GrupoDTO(id: row.id, proyecto: row.proyectoID, nombre: row.nombre, descripcion: row.descripcion,
                     mentores: relations.mentors[row.id] ?? [], numEstudiantes: row.numEstudiantes,
                     horarios: relations.slots[row.id] ?? [])
        }
    }

    @Sendable func list(req: Request) async throws -> Page<GrupoDTO> {
        let project = try await ProyectoController.find(req)
        try req.authorize(.leer, on: .grupos)
        let query = Grupo.query(on: req.db).filter(\.$proyecto.$id == (try project.requireID()))
        SearchFilter.apply(query, request: req, columns: ["nombre", "descripcion"])
        OrderingFilter.apply(query, request: req, fields: ["nombre": "nombre_clave", "num_estudiantes": "num_estudiantes"],
                             fallback: [("nombre_clave", .ascending)])
        return try await Paginator.paginateRows(query, request: req, columns: GrupoRow.columns, decode: GrupoRow.init(row:),
                                                mapPage: { try await Self.dtos(rows: $0, on: req.db) })
    }

    @Sendable func detail(req: Request) async throws -> GrupoDTO {
        let group = try await find(req)
        try req.authorize(.leer, on: .grupos)
        return try await Self.dto(group, on: req.db)
    }

    static func dto(_ group: Grupo, on db: any Database) async throws -> GrupoDTO {
        guard let dto = try await dtos([group], on: db).first else { throw APIError.notFound }
        return dto
    }

    @Sendable func create(req: Request) async throws -> Response {
        let project = try await ProyectoController.find(req)
        try req.authorize(.crear, on: .grupos)
        var input = try JSONInput.parse(req)
        let fields = try await read(&input, project: project, existing: nil, on: req.db)
        let group = Grupo(proyectoID: try project.requireID(), nombre: fields.nombre ?? "")
        try await save(group, fields: fields, req: req, before: nil)
        return try await Self.dto(group, on: req.db).encodeResponse(status: .created, for: req)
    }

    @Sendable func replace(req: Request) async throws -> GrupoDTO { try await update(req, partial: false) }
    @Sendable func patch(req: Request) async throws -> GrupoDTO { try await update(req, partial: true) }

    private func update(_ req: Request, partial: Bool) async throws -> GrupoDTO {
        let group = try await find(req)
        try req.authorize(.editar, on: .grupos)
        let project = try await ProyectoController.find(req)
        var input = try JSONInput.parse(req, partial: partial)
        let fields = try await read(&input, project: project, existing: group, on: req.db)
        try await save(group, fields: fields, req: req, before: try Auditor.snapshot(group))
        return try await Self.dto(group, on: req.db)
    }

    @Sendable func delete(req: Request) async throws -> HTTPStatus {
        let group = try await find(req)
        try req.authorize(.eliminar, on: .grupos)
        try await req.deleteAudited(group, "grupos", antes: group)
        return .noContent
    }

    private func find(_ req: Request) async throws -> Grupo {
        let project = try await ProyectoController.find(req)
        guard let id = req.parameters.get("gid", as: Int.self),
              let group = try await Grupo.query(on: req.db).filter(\.$id == id)
                .filter(\.$proyecto.$id == (try project.requireID())).first() else { throw APIError.notFound }
        return group
    }

    struct Fields {
        var nombre: String?
        var descripcion: String?
        var numEstudiantes: Int?
        var mentores: [Int]?
    }

    private func read(_ input: inout JSONInput, project: Proyecto, existing: Grupo?, on db: any Database) async throws -> Fields {
        var fields = Fields()
        fields.nombre = input.string("nombre", maxLength: 100)
        fields.descripcion = input.string("descripcion", required: false, allowBlank: true, maxLength: 5_000, trim: false)
        fields.numEstudiantes = input.int("num_estudiantes", required: false, range: 0...100_000)
        fields.mentores = input.idList("mentores", required: false)
        let projectID = try project.requireID()
        if let nombre = fields.nombre {
            let clash = Grupo.query(on: db).filter(\.$proyecto.$id == projectID).filter(\.$nombreClave == nombre.lowercased())
            if let id = existing?.id { clash.filter(\.$id != id) }
            if try await clash.count() > 0 { input.errors.add("nombre", Self.duplicate) }
        }
        if let ids = fields.mentores, !ids.isEmpty {
            let assigned = Set(try await ProyectoMentor.query(on: db).filter(\.$proyecto.$id == projectID)
                .filter(\.$mentor.$id ~~ ids).all().map { $0.$mentor.id })
            for id in ids where !assigned.contains(id) {
                input.errors.add("mentores", "El mentor \(id) no está asignado al proyecto.")
            }
        }
        try input.finish()
        return fields
    }

    private func save(_ group: Grupo, fields: Fields, req: Request, before: JSONValue?) async throws {
        if let nombre = fields.nombre {
            group.nombre = nombre
            group.nombreClave = nombre.lowercased()
        }
        if let descripcion = fields.descripcion { group.descripcion = descripcion }
        if let numEstudiantes = fields.numEstudiantes { group.numEstudiantes = numEstudiantes }
        try await mappingConstraintFailure(to: .field("nombre", Self.duplicate)) {
            try await req.writeTransaction { db in
                if let mentores = fields.mentores, let id = group.id {
                    // Mentors joining a group must be free at its class times; under the slots' lock.
                    try await WriteLock.acquire(HorarioRules.lock, on: db)
                    var errors = FieldErrors()
                    for message in try await HorarioRules.conflictsAssigning(mentors: mentores, to: id, on: db) {
                        errors.add("mentores", message)
                    }
                    try errors.throwIfAny()
                }
                try await group.save(on: db)
                let id = try group.requireID()
                var after = try Auditor.snapshot(group)
                if case .object(var values) = after, let mentores = fields.mentores {
                    values["mentores"] = .array(mentores.map { .int(Int64($0)) })
                    after = .object(values)
                }
                try await req.audit(before == nil ? .crear : .actualizar, "grupos", id: id, antes: before, despues: after, on: db)
                guard let mentores = fields.mentores else { return }
                try await GrupoMentor.query(on: db).filter(\.$grupo.$id == id).delete()
                for mentorID in mentores { try await GrupoMentor(grupoID: id, mentorID: mentorID).create(on: db) }
            }
        }
    }
}

/// A group's own columns, read straight from SQL.
struct GrupoRow: Sendable {
    var id: Int
    var proyectoID: Int
    var nombre: String
    var descripcion: String
    var numEstudiantes: Int

    static let columns: [FieldKey] = ["id", "proyecto_id", "nombre", "descripcion", "num_estudiantes"]
    private static let aliased = columns.map { Paginator.alias($0.description, of: Grupo.schema) }

    /// From a row whose columns carry Fluent's aliases (`grupos_nombre`).
    init(row: any SQLRow) throws {
        let name = Self.aliased
        id = try row.decode(column: name[0], as: Int.self)
        proyectoID = try row.decode(column: name[1], as: Int.self)
        nombre = try row.decode(column: name[2], as: String.self)
        descripcion = try row.decode(column: name[3], as: String.self)
        numEstudiantes = try row.decode(column: name[4], as: Int.self)
    }

    init(_ group: Grupo) throws {
        id = try group.requireID()
        proyectoID = group.$proyecto.id
        nombre = group.nombre
        descripcion = group.descripcion
        numEstudiantes = group.numEstudiantes
    }
}

/// The mentors (by id) and class slots (by day, start, id) of some groups, in one `UNION ALL`.
struct GrupoRelations: Sendable {
    var mentors: [Int: [Int]] = [:]
    var slots: [Int: [HorarioDTO]] = [:]

    static func load(groupIDs ids: [Int], on database: any Database) async throws -> GrupoRelations {
        var relations = GrupoRelations()
        guard !ids.isEmpty, let sql = database as? any SQLDatabase else { return relations }
        let rows = try await sql.raw("""
            SELECT 'm' AS k, grupo_id AS g, mentor_id AS a, NULL AS c, NULL AS d, NULL AS i, NULL AS f, NULL AS s
            FROM grupo_mentores WHERE grupo_id IN (\(binds: ids))
            UNION ALL SELECT 'h', grupo_id, id, calendario_id, dia_semana, hora_inicio, hora_fin, aula
            FROM horarios WHERE grupo_id IN (\(binds: ids))
            ORDER BY 1, 2, 5, 6, 3
            """).all()
        for row in rows {
            let group = try row.decode(column: "g", as: Int.self)
            if try row.decode(column: "k", as: String.self) == "m" {
                relations.mentors[group, default: []].append(try row.decode(column: "a", as: Int.self))
            } else {
                relations.slots[group, default: []].append(HorarioDTO(
                    id: try row.decode(column: "a", as: Int.self), grupo: group,
                    calendario: try row.decode(column: "c", as: Int.self),
                    diaSemana: try row.decode(column: "d", as: Int.self),
                    horaInicio: TimeOfDay(clamping: try row.decode(column: "i", as: Int.self)),
                    horaFin: TimeOfDay(clamping: try row.decode(column: "f", as: Int.self)),
                    aula: try row.decode(column: "s", as: String.self)))
            }
        }
        return relations
    }
}

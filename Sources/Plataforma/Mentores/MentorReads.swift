import Fluent
import FluentSQL
import SQLKit
import Vapor

/// A mentor's own columns, read straight from SQL (no Fluent model on the read path).
struct MentorRow: Sendable {
    var id: Int
    var usuarioID: Int?
    var nombre: String
    var apellidos: String
    var email: String
    var telefonoCifrado: String?
    var documentoCifrado: String?
    var biografia: String
    var activo: Bool
    var fechaAlta: String

    static let columns: [FieldKey] = ["id", "usuario_id", "nombre", "apellidos", "email", "telefono_cifrado",
                                      "documento_cifrado", "biografia", "activo", "fecha_alta"]

    /// The columns as Fluent aliases them (`mentores_nombre`), in the order of `columns`, made once.
    private static let aliased = columns.map { Paginator.alias($0.description, of: Mentor.schema) }

    /// From a row whose columns carry Fluent's aliases (`mentores_nombre`).
    init(row: any SQLRow) throws {
        let name = Self.aliased
        id = try row.decode(column: name[0], as: Int.self)
        usuarioID = try row.decode(column: name[1], as: Int?.self)
        nombre = try row.decode(column: name[2], as: String.self)
        apellidos = try row.decode(column: name[3], as: String.self)
        email = try row.decode(column: name[4], as: String.self)
        telefonoCifrado = try row.decode(column: name[5], as: String?.self)
        documentoCifrado = try row.decode(column: name[6], as: String?.self)
        biografia = try row.decode(column: name[7], as: String.self)
        activo = try row.decode(column: name[8], as: Bool.self)
        fechaAlta = try row.decode(column: name[9], as: String.self)
    }

    init(_ mentor: Mentor) throws {
        id = try mentor.requireID()
        usuarioID = mentor.$usuario.id
        nombre = mentor.nombre
        apellidos = mentor.apellidos
        email = mentor.email
        telefonoCifrado = mentor.telefonoCifrado
        documentoCifrado = mentor.documentoCifrado
        biografia = mentor.biografia
        activo = mentor.activo
        fechaAlta = mentor.fechaAlta
    }

    /// One mentor by id, or nil.
    static func find(_ id: Int, on database: any Database) async throws -> MentorRow? {
        guard let sql = database as? any SQLDatabase else { return nil }
        var select = Mentor.query(on: database).filter(\.$id == id).limit(1).query
        select.fields = columns.map { .path([$0], schema: Mentor.schema) }
        let statement = SQLQueryConverter(delegate: ReadOnlyConverterDelegate()).convert(select)
        return try await SQLRawExpressionFetcher(expression: statement, database: sql).first().map(MentorRow.init(row:))
    }
}

/// What a page of mentors carries besides their own columns, read in one statement: skills,
/// weekly slots, project ids and (for the detail) hour totals, as tagged rows of one `UNION ALL`.
struct MentorRelations: Sendable {
    var skills: [Int: [MentorConocimientoDTO]] = [:]
    var slots: [Int: [DisponibilidadDTO]] = [:]
    var projects: [Int: [Int]] = [:]
    var hours: [Int: [EstadoRegistro: Int]] = [:]

    static func load(mentorIDs ids: [Int], withHours: Bool, on database: any Database) async throws -> MentorRelations {
        var relations = MentorRelations()
        guard !ids.isEmpty, let sql = database as? any SQLDatabase else { return relations }
        var query = SQLQueryString("""
            SELECT 'c' AS k, mc.mentor_id AS m, c.id AS a, NULL AS b, NULL AS d, c.nombre AS s, mc.nivel AS t
            FROM mentor_conocimientos mc JOIN conocimientos c ON c.id = mc.conocimiento_id WHERE mc.mentor_id IN (\(binds: ids))
            UNION ALL SELECT 'd', mentor_id, dia_semana, hora_inicio, hora_fin, NULL, NULL
            FROM disponibilidades WHERE mentor_id IN (\(binds: ids))
            UNION ALL SELECT 'p', mentor_id, proyecto_id, NULL, NULL, NULL, NULL
            FROM proyecto_mentores WHERE mentor_id IN (\(binds: ids))
            """)
        if withHours {
            query.appendInterpolation(unsafeRaw: "\nUNION ALL SELECT 'h', mentor_id, CAST(SUM(horas) AS BIGINT), NULL, NULL, estado, NULL")
            query.appendInterpolation(unsafeRaw: " FROM registro_horas WHERE mentor_id IN (")
            query.appendInterpolation(binds: ids)
            query.appendInterpolation(unsafeRaw: ") GROUP BY mentor_id, estado")
        }
        query.appendInterpolation(unsafeRaw: "\nORDER BY 1, 2, 3, 4")
        for row in try await sql.raw(query).all() {
            let mentor = try row.decode(column: "m", as: Int.self)
            switch try row.decode(column: "k", as: String.self) {
            case "c":
                guard let nivel = Nivel(rawValue: try row.decode(column: "t", as: String.self)) else { continue }
                relations.skills[mentor, default: []].append(MentorConocimientoDTO(
                    conocimiento: try row.decode(column: "a", as: Int.self), nombre: try row.decode(column: "s", as: String.self), nivel: nivel))
            case "d":
                relations.slots[mentor, default: []].append(DisponibilidadDTO(
                    diaSemana: try row.decode(column: "a", as: Int.self),
                    horaInicio: TimeOfDay(clamping: try row.decode(column: "b", as: Int.self)),
                    horaFin: TimeOfDay(clamping: try row.decode(column: "d", as: Int.self))))
            case "p":
                relations.projects[mentor, default: []].append(try row.decode(column: "a", as: Int.self))
            case "h":
                guard let estado = EstadoRegistro(rawValue: try row.decode(column: "s", as: String.self)) else { continue }
                relations.hours[mentor, default: [:]][estado] = try row.decode(column: "a", as: Int?.self) ?? 0
            default:
                continue
            }
        }
        return relations
    }
}

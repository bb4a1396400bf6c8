import Vapor

/// Every endpoint of the API, documented. `/api/schema/` serves the OpenAPI 3.1 document built
/// from this list; a test checks that it and the router describe the same set of operations.
enum APIDocs {
    static var operations: [APIOperation] {
        foundation + mentores + proyectos + registros + calendario + operaciones + archivos
    }

    static let credentials: JSONValue = Schema.object(["email": Schema.string, "password": Schema.string], required: ["password"])

    static let foundation: [APIOperation] = [
        APIOperation(method: .GET, path: "/healthz", tag: "operaciones", summary: "El proceso responde",
                     success: (.ok, Schema.object(["status": Schema.string])), authenticated: false),
        APIOperation(method: .GET, path: "/readyz", tag: "operaciones", summary: "La base de datos (y Redis, si se usa) responden",
                     success: (.ok, Schema.object(["status": Schema.string, "database": Schema.string, "redis": Schema.string])),
                     authenticated: false, errors: [503]),
        APIOperation(method: .GET, path: "/api/schema/", tag: "operaciones", summary: "Este documento OpenAPI",
                     success: (.ok, ["type": "object"]), authenticated: false),
        APIOperation(method: .POST, path: "/api/token/", tag: "auth", summary: "Obtener par de tokens (email o username)",
                     body: .json(credentials), success: (.ok, Schema.ref("TokenPair")), authenticated: false, errors: [401]),
        APIOperation(method: .POST, path: "/api/token/refresh/", tag: "auth", summary: "Rotar el refresh token",
                     body: .json(Schema.object(["refresh": Schema.string], required: ["refresh"])),
                     success: (.ok, Schema.ref("TokenPair")), authenticated: false, errors: [401]),
        APIOperation(method: .POST, path: "/api/token/blacklist/", tag: "auth", summary: "Cerrar sesión (lista negra)",
                     body: .json(Schema.object(["refresh": Schema.string], required: ["refresh"])),
                     success: (.ok, Schema.ref("Empty")), authenticated: false, errors: [401]),
        APIOperation(method: .POST, path: "/api/token/verify/", tag: "auth", summary: "Verificar un token",
                     body: .json(Schema.object(["token": Schema.string], required: ["token"])),
                     success: (.ok, Schema.ref("Empty")), authenticated: false, errors: [401]),
        APIOperation(method: .POST, path: "/api/auth/login/", tag: "auth", summary: "Login con cookies",
                     body: .json(credentials), success: (.ok, Schema.object(["usuario": Schema.ref("Usuario")])),
                     authenticated: false, errors: [401]),
        APIOperation(method: .POST, path: "/api/auth/refresh/", tag: "auth", summary: "Rotar desde la cookie (CSRF)",
                     success: (.ok, Schema.ref("Empty")), authenticated: false, errors: [401, 403]),
        APIOperation(method: .POST, path: "/api/auth/logout/", tag: "auth", summary: "Logout con cookies",
                     success: (.ok, Schema.ref("Empty")), authenticated: false, errors: [403]),
        APIOperation(method: .GET, path: "/api/auth/me/", tag: "auth", summary: "La cuenta del usuario", success: (.ok, Schema.ref("Usuario"))),
        APIOperation(method: .PATCH, path: "/api/auth/me/", tag: "auth", summary: "Cambiar nombre y apellidos",
                     body: .json(Schema.object(["nombre": Schema.string, "apellidos": Schema.string])), success: (.ok, Schema.ref("Usuario"))),
        APIOperation(method: .POST, path: "/api/auth/cambiar-password/", tag: "auth", summary: "Cambiar la contraseña",
                     body: .json(Schema.object(["password_actual": Schema.string, "password_nueva": Schema.string],
                                               required: ["password_actual", "password_nueva"])),
                     success: (.ok, Schema.object(["detail": Schema.string, "access": Schema.string, "refresh": Schema.string]))),
        APIOperation(method: .GET, path: "/api/usuarios/", tag: "usuarios", summary: "Listar usuarios",
                     query: Schema.pagination + [("rol", Schema.choice(Rol.allCases.map(\.rawValue))), ("activo", Schema.boolean)],
                     success: (.ok, Schema.page("Usuario"))),
        APIOperation(method: .POST, path: "/api/usuarios/", tag: "usuarios", summary: "Crear usuario",
                     body: .json(Schema.ref("UsuarioWrite")), success: (.created, Schema.ref("Usuario"))),
        APIOperation(method: .GET, path: "/api/usuarios/{id}/", tag: "usuarios", summary: "Ver usuario", success: (.ok, Schema.ref("Usuario"))),
        APIOperation(method: .PUT, path: "/api/usuarios/{id}/", tag: "usuarios", summary: "Reemplazar usuario",
                     body: .json(Schema.ref("UsuarioWrite")), success: (.ok, Schema.ref("Usuario"))),
        APIOperation(method: .PATCH, path: "/api/usuarios/{id}/", tag: "usuarios", summary: "Modificar usuario",
                     body: .json(Schema.ref("UsuarioWrite")), success: (.ok, Schema.ref("Usuario"))),
        APIOperation(method: .DELETE, path: "/api/usuarios/{id}/", tag: "usuarios", summary: "Eliminar usuario",
                     success: (.noContent, nil), errors: [400]),
        APIOperation(method: .GET, path: "/api/roles/", tag: "usuarios", summary: "Roles y permisos",
                     query: [("page", Schema.integer), ("page_size", Schema.integer)], success: (.ok, Schema.page("Rol"))),
        APIOperation(method: .GET, path: "/api/roles/{codigo}/", tag: "usuarios", summary: "Un rol", success: (.ok, Schema.ref("Rol"))),
    ]

    static let mentores: [APIOperation] = crud("/api/conocimientos/", tag: "conocimientos", schema: "Conocimiento",
                                               write: Schema.object(["nombre": Schema.string, "categoria": Schema.string], required: ["nombre"]),
                                               query: Schema.pagination + [("categoria", Schema.string)])
        + crud("/api/mentores/", tag: "mentores", schema: "Mentor", write: APISchemas.mentorWrite,
               query: Schema.pagination + [("activo", Schema.boolean), ("conocimiento", Schema.string), ("proyecto", Schema.id),
                                           ("disponible_dia", ["type": "integer", "minimum": 0, "maximum": 6]),
                                           ("disponible_hora", Schema.time)], deleteErrors: [409])
        + [
            APIOperation(method: .GET, path: "/api/mentores/{id}/disponibilidad/", tag: "mentores", summary: "Disponibilidad semanal",
                         success: (.ok, Schema.array(Schema.ref("Disponibilidad")))),
            APIOperation(method: .PUT, path: "/api/mentores/{id}/disponibilidad/", tag: "mentores", summary: "Reemplazar la disponibilidad",
                         body: .json(Schema.array(Schema.ref("Disponibilidad"))), success: (.ok, Schema.array(Schema.ref("Disponibilidad")))),
            APIOperation(method: .GET, path: "/api/mentores/{id}/certificados/", tag: "mentores", summary: "Certificados del mentor",
                         query: [("page", Schema.integer), ("page_size", Schema.integer), ("ordering", Schema.string)],
                         success: (.ok, Schema.page("Certificado"))),
            APIOperation(method: .POST, path: "/api/mentores/{id}/certificados/", tag: "mentores",
                         summary: "Añadir certificado (JSON, o multipart con `archivo` PDF/PNG/JPEG ≤ 10 MB)",
                         body: .jsonOrMultipart(Schema.object(["nombre": ["type": "string", "maxLength": 200],
                                                               "entidad": ["type": "string", "maxLength": 200], "fecha_obtencion": Schema.date,
                                                               "fecha_expiracion": Schema.nullable(Schema.date), "archivo": Schema.binary],
                                                              required: ["nombre", "entidad", "fecha_obtencion"])),
                         success: (.created, Schema.ref("Certificado"))),
            APIOperation(method: .GET, path: "/api/mentores/{id}/certificados/{cid}/", tag: "mentores", summary: "Ver certificado",
                         success: (.ok, Schema.ref("Certificado"))),
            APIOperation(method: .DELETE, path: "/api/mentores/{id}/certificados/{cid}/", tag: "mentores", summary: "Eliminar certificado",
                         success: (.noContent, nil)),
        ]

    static let proyectos: [APIOperation] = crud("/api/proyectos/", tag: "proyectos", schema: "Proyecto", write: APISchemas.proyectoWrite,
                                                query: Schema.pagination + [("estado", Schema.choice(EstadoProyecto.allCases.map(\.rawValue))),
                                                                            ("mentor", Schema.id)], deleteErrors: [409])
        + [
            APIOperation(method: .POST, path: "/api/proyectos/{id}/mentores/", tag: "proyectos", summary: "Asignar mentor",
                         body: .json(Schema.object(["mentor": Schema.id], required: ["mentor"])), success: (.created, Schema.ref("Proyecto")),
                         alsoSuccess: [(.ok, Schema.ref("Proyecto"))]),
            APIOperation(method: .DELETE, path: "/api/proyectos/{id}/mentores/{mid}/", tag: "proyectos", summary: "Desasignar mentor",
                         success: (.noContent, nil)),
        ]
        + crud("/api/proyectos/{id}/grupos/", tag: "grupos", schema: "Grupo", write: APISchemas.grupoWrite, query: Schema.pagination, item: "gid")

    static let registroFilters: [(String, JSONValue)] = [
        ("mentor", Schema.id), ("proyecto", Schema.id), ("grupo", Schema.id),
        ("estado", Schema.choice(EstadoRegistro.allCases.map(\.rawValue))), ("desde", Schema.date), ("hasta", Schema.date),
    ]

    static let registros: [APIOperation] = crud("/api/registro-horas/", tag: "registro-horas", schema: "RegistroHoras",
                                                write: APISchemas.registroWrite, query: Schema.pagination + registroFilters)
        + [
            APIOperation(method: .POST, path: "/api/registro-horas/{id}/aprobar/", tag: "registro-horas", summary: "Aprobar",
                         success: (.ok, Schema.ref("RegistroHoras")), errors: [400]),
            APIOperation(method: .POST, path: "/api/registro-horas/{id}/rechazar/", tag: "registro-horas", summary: "Rechazar",
                         body: .json(Schema.object(["motivo": Schema.string], required: ["motivo"])), success: (.ok, Schema.ref("RegistroHoras"))),
            APIOperation(method: .POST, path: "/api/registro-horas/revisar-lote/", tag: "registro-horas", summary: "Revisar en lote (todo o nada)",
                         body: .json(Schema.object(["ids": Schema.array(Schema.id), "accion": Schema.choice(["aprobar", "rechazar"]),
                                                    "motivo": Schema.string], required: ["ids", "accion"])),
                         success: (.ok, Schema.object(["actualizados": Schema.integer, "ids": Schema.array(Schema.id)]))),
            APIOperation(method: .GET, path: "/api/registro-horas/exportar/", tag: "registro-horas", summary: "Exportar CSV (streaming)",
                         query: [("formato", Schema.choice(["csv"]))] + registroFilters, success: (.ok, Schema.string),
                         successMediaType: "text/csv"),
        ]

    static let range: [(String, JSONValue)] = [("desde", Schema.date), ("hasta", Schema.date)]

    static let calendario: [APIOperation] = crud("/api/calendarios/", tag: "calendario", schema: "Calendario",
                                                 write: APISchemas.calendarioWrite, query: Schema.pagination + [("activo", Schema.boolean)])
        + [
            APIOperation(method: .GET, path: "/api/calendarios/{id}/dias-no-lectivos/", tag: "calendario", summary: "Días no lectivos",
                         query: [("page", Schema.integer), ("page_size", Schema.integer)], success: (.ok, Schema.page("DiaNoLectivo"))),
            APIOperation(method: .POST, path: "/api/calendarios/{id}/dias-no-lectivos/", tag: "calendario", summary: "Añadir día no lectivo",
                         body: .json(Schema.object(["fecha": Schema.date, "descripcion": Schema.string], required: ["fecha"])),
                         success: (.created, Schema.ref("DiaNoLectivo"))),
            APIOperation(method: .GET, path: "/api/calendarios/{id}/dias-no-lectivos/{did}/", tag: "calendario", summary: "Ver día no lectivo",
                         success: (.ok, Schema.ref("DiaNoLectivo"))),
            APIOperation(method: .DELETE, path: "/api/calendarios/{id}/dias-no-lectivos/{did}/", tag: "calendario",
                         summary: "Eliminar día no lectivo", success: (.noContent, nil)),
            APIOperation(method: .GET, path: "/api/calendarios/{id}/dias-habiles/", tag: "calendario", summary: "Días hábiles del rango",
                         query: range,
                         success: (.ok, Schema.object(["desde": Schema.string, "hasta": Schema.string, "total": Schema.integer,
                                                       "dias": Schema.array(Schema.date)], required: ["desde", "hasta", "total", "dias"]))),
        ]
        + crud("/api/horarios/", tag: "calendario", schema: "Horario", write: APISchemas.horarioWrite,
               query: Schema.pagination + [("grupo", Schema.id), ("mentor", Schema.id), ("calendario", Schema.id)])
        + [
            APIOperation(method: .GET, path: "/api/agenda/", tag: "agenda", summary: "Agenda (clases, registros, citas)",
                         query: range + [("mentor", Schema.id), ("grupo", Schema.id)], success: (.ok, Schema.array(Schema.ref("AgendaItem")))),
            APIOperation(method: .GET, path: "/api/agenda/ics/token/", tag: "agenda", summary: "URL del feed iCalendar",
                         success: (.ok, Schema.object(["url": ["type": "string", "format": "uri"]], required: ["url"]))),
            APIOperation(method: .POST, path: "/api/agenda/ics/token/", tag: "agenda", summary: "Renovar la URL del feed",
                         success: (.ok, Schema.object(["url": ["type": "string", "format": "uri"]], required: ["url"]))),
            APIOperation(method: .GET, path: "/api/agenda/ics/", tag: "agenda", summary: "Feed iCalendar (RFC 5545) por token secreto",
                         query: [("token", Schema.string)] + range, success: (.ok, Schema.string), successMediaType: "text/calendar",
                         authenticated: false, errors: [401]),
        ]

    /// The five operations of a DRF ModelViewSet plus PATCH.
    static func crud(_ base: String, tag: String, schema: String, write: JSONValue, query: [(String, JSONValue)],
                     item: String = "id", deleteErrors: [Int] = []) -> [APIOperation] {
        let detail = base + "{\(item)}/"
        return [
            APIOperation(method: .GET, path: base, tag: tag, summary: "Listar", query: query, success: (.ok, Schema.page(schema))),
            APIOperation(method: .POST, path: base, tag: tag, summary: "Crear", body: .json(write), success: (.created, Schema.ref(schema))),
            APIOperation(method: .GET, path: detail, tag: tag, summary: "Ver", success: (.ok, Schema.ref(schema))),
            APIOperation(method: .PUT, path: detail, tag: tag, summary: "Reemplazar", body: .json(write), success: (.ok, Schema.ref(schema))),
            APIOperation(method: .PATCH, path: detail, tag: tag, summary: "Modificar", body: .json(write), success: (.ok, Schema.ref(schema))),
            APIOperation(method: .DELETE, path: detail, tag: tag, summary: "Eliminar", success: (.noContent, nil), errors: deleteErrors),
        ]
    }

    static let document: JSONValue = OpenAPIBuilder.document(
        operations: operations, components: APISchemas.components,
        info: ["title": "Plataforma de Mentores & Proyectos", "version": "1.0.0",
               "description": "API compatible con DRF + SimpleJWT. Diferencias deliberadas: todo error lleva `code`; rutas con y sin barra final; horas como números; validación de todos los campos a la vez; rotación de refresh con un único ganador y revocación de la familia al reutilizarlo."])
}

/// `GET /api/schema/`: the OpenAPI 3.1 document.
struct SchemaController: RouteCollection {
    func boot(routes: any RoutesBuilder) throws {
        routes.get("schema", use: schema)
    }

    /// Encoded once, with a plain encoder: OpenAPI's keys are camelCase and must not be snake-cased.
    static let body: Data = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(APIDocs.document)) ?? Data("{}".utf8)
    }()

    @Sendable func schema(req: Request) async throws -> Response {
        let response = Response(status: .ok, body: .init(data: Self.body))
        response.headers.contentType = HTTPMediaType(type: "application", subType: "vnd.oai.openapi+json", parameters: ["charset": "utf-8"])
        return response
    }
}

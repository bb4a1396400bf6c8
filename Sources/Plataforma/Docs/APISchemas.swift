import Vapor

/// The component schemas of the API document: the representations the endpoints return.
enum APISchemas {
    static let components: [String: JSONValue] = [
        "TokenPair": Schema.object(["access": Schema.string, "refresh": Schema.string], required: ["access"]),
        "Empty": Schema.object([:]),
        "EntradaAuditoria": APIDocs.auditoriaSchema,
        "Usuario": Schema.object([
            "id": Schema.id, "email": Schema.string, "nombre": Schema.string, "apellidos": Schema.string,
            "rol": Schema.choice(Rol.allCases.map(\.rawValue)), "activo": Schema.boolean,
            "foto": Schema.nullable(["type": "string", "format": "uri"]), "fecha_creacion": Schema.dateTime,
            "ultimo_acceso": Schema.nullable(Schema.dateTime),
        ], required: ["id", "email", "nombre", "apellidos", "rol", "activo", "foto", "fecha_creacion", "ultimo_acceso"]),
        "UsuarioWrite": Schema.object([
            "email": ["type": "string", "format": "email", "maxLength": 254], "password": ["type": "string", "writeOnly": true],
            "nombre": ["type": "string", "maxLength": 150], "apellidos": ["type": "string", "maxLength": 150],
            "rol": Schema.choice(Rol.allCases.map(\.rawValue)), "activo": Schema.boolean,
        ], required: ["email", "password", "nombre"]),
        "Rol": Schema.object(["codigo": Schema.string, "nombre": Schema.string, "permisos": Schema.array(Schema.string)],
                             required: ["codigo", "nombre", "permisos"]),
        "Conocimiento": Schema.object(["id": Schema.id, "nombre": Schema.string, "categoria": Schema.string],
                                      required: ["id", "nombre", "categoria"]),
        "Disponibilidad": Schema.object(["dia_semana": ["type": "integer", "minimum": 0, "maximum": 6],
                                         "hora_inicio": Schema.time, "hora_fin": Schema.time],
                                        required: ["dia_semana", "hora_inicio", "hora_fin"]),
        "Mentor": Schema.object([
            "id": Schema.id, "usuario": Schema.nullable(Schema.id), "nombre": Schema.string, "apellidos": Schema.string,
            "email": Schema.string, "telefono": Schema.nullable(Schema.string), "documento_identidad": Schema.nullable(Schema.string),
            "biografia": Schema.string, "activo": Schema.boolean, "fecha_alta": Schema.date,
            "conocimientos": Schema.array(Schema.object(["conocimiento": Schema.id, "nombre": Schema.string,
                                                         "nivel": Schema.choice(Nivel.allCases.map(\.rawValue))])),
            "disponibilidad": Schema.array(Schema.ref("Disponibilidad")), "proyectos": Schema.array(Schema.id),
            "horas_aprobadas": Schema.number, "horas_pendientes": Schema.number,
        ], required: ["id", "usuario", "nombre", "apellidos", "email", "biografia", "activo", "fecha_alta", "conocimientos",
                      "disponibilidad", "proyectos"]),
        "Certificado": Schema.object([
            "id": Schema.id, "mentor": Schema.id, "nombre": Schema.string, "entidad": Schema.string,
            "fecha_obtencion": Schema.date, "fecha_expiracion": Schema.nullable(Schema.date),
            "archivo": Schema.nullable(["type": "string", "format": "uri"]), "creado": Schema.dateTime,
        ], required: ["id", "mentor", "nombre", "entidad", "fecha_obtencion", "fecha_expiracion", "archivo", "creado"]),
        "Archivo": Schema.object([
            "id": Schema.id, "nombre": Schema.string, "tipo_mime": Schema.string, "tamano": Schema.integer,
            "sha256": ["type": "string", "pattern": "^[0-9a-f]{64}$"], "propietario": Schema.id, "proyecto": Schema.nullable(Schema.id),
            "descripcion": Schema.string, "creado": Schema.dateTime, "url": ["type": "string", "format": "uri"],
        ], required: ["id", "nombre", "tipo_mime", "tamano", "sha256", "propietario", "proyecto", "descripcion", "creado", "url"]),
        "Proyecto": Schema.object([
            "id": Schema.id, "nombre": Schema.string, "descripcion": Schema.string,
            "estado": Schema.choice(EstadoProyecto.allCases.map(\.rawValue)), "fecha_inicio": Schema.date,
            "fecha_fin": Schema.nullable(Schema.date), "horas_estimadas": Schema.number, "coordinador": Schema.nullable(Schema.id),
            "mentores": Schema.array(Schema.id), "creado": Schema.dateTime, "actualizado": Schema.dateTime,
            "horas_registradas": Schema.number, "num_grupos": Schema.integer,
        ], required: ["id", "nombre", "descripcion", "estado", "fecha_inicio", "fecha_fin", "horas_estimadas", "coordinador",
                      "mentores", "creado", "actualizado", "horas_registradas", "num_grupos"]),
        "Grupo": Schema.object([
            "id": Schema.id, "proyecto": Schema.id, "nombre": Schema.string, "descripcion": Schema.string,
            "mentores": Schema.array(Schema.id), "num_estudiantes": Schema.integer, "horarios": Schema.array(Schema.ref("Horario")),
        ], required: ["id", "proyecto", "nombre", "descripcion", "mentores", "num_estudiantes", "horarios"]),
        "Calendario": Schema.object([
            "id": Schema.id, "nombre": Schema.string, "fecha_inicio": Schema.date, "fecha_fin": Schema.date,
            "dias_habiles": Schema.array(["type": "integer", "minimum": 0, "maximum": 6]), "activo": Schema.boolean,
        ], required: ["id", "nombre", "fecha_inicio", "fecha_fin", "dias_habiles", "activo"]),
        "DiaNoLectivo": Schema.object(["id": Schema.id, "fecha": Schema.date, "descripcion": Schema.string],
                                      required: ["id", "fecha", "descripcion"]),
        "Horario": Schema.object([
            "id": Schema.id, "grupo": Schema.id, "calendario": Schema.id, "dia_semana": ["type": "integer", "minimum": 0, "maximum": 6],
            "hora_inicio": Schema.time, "hora_fin": Schema.time, "aula": Schema.string,
        ], required: ["id", "grupo", "calendario", "dia_semana", "hora_inicio", "hora_fin", "aula"]),
        "AgendaItem": Schema.object([
            "tipo": Schema.choice(["clase", "registro", "cita"]), "inicio": Schema.dateTime, "fin": Schema.dateTime,
            "titulo": Schema.string, "mentor": Schema.nullable(Schema.id), "grupo": Schema.nullable(Schema.id),
            "proyecto": Schema.nullable(Schema.id), "aula": Schema.nullable(Schema.string),
            "referencia": ["oneOf": [Schema.integer, Schema.string]],
        ], required: ["tipo", "inicio", "fin", "titulo", "mentor", "grupo", "proyecto", "aula", "referencia"]),
        "RegistroHoras": Schema.object([
            "id": Schema.id, "mentor": Schema.id, "proyecto": Schema.id, "grupo": Schema.nullable(Schema.id),
            "fecha": Schema.date, "hora_inicio": Schema.time, "hora_fin": Schema.time, "horas": Schema.number,
            "descripcion": Schema.string, "estado": Schema.choice(EstadoRegistro.allCases.map(\.rawValue)),
            "revisado_por": Schema.nullable(Schema.id), "fecha_revision": Schema.nullable(Schema.dateTime),
            "motivo_rechazo": Schema.string, "creado": Schema.dateTime,
        ], required: ["id", "mentor", "proyecto", "grupo", "fecha", "hora_inicio", "hora_fin", "horas", "descripcion", "estado",
                      "revisado_por", "fecha_revision", "motivo_rechazo", "creado"]),
    ]

    static let mentorWrite = Schema.object([
        "nombre": ["type": "string", "maxLength": 100], "apellidos": ["type": "string", "maxLength": 150],
        "email": ["type": "string", "format": "email"], "telefono": Schema.nullable(Schema.string),
        "documento_identidad": Schema.nullable(Schema.string), "biografia": Schema.string, "activo": Schema.boolean,
        "fecha_alta": Schema.date, "usuario": Schema.nullable(Schema.id),
        "conocimientos": Schema.array(Schema.object(["conocimiento": Schema.id, "nivel": Schema.choice(Nivel.allCases.map(\.rawValue))],
                                                    required: ["conocimiento", "nivel"])),
        "disponibilidad": Schema.array(Schema.ref("Disponibilidad")),
    ], required: ["nombre", "email"])

    static let proyectoWrite = Schema.object([
        "nombre": ["type": "string", "maxLength": 200], "descripcion": Schema.string,
        "estado": Schema.choice(EstadoProyecto.allCases.map(\.rawValue)), "fecha_inicio": Schema.date,
        "fecha_fin": Schema.nullable(Schema.date), "horas_estimadas": ["type": "number", "minimum": 0],
        "coordinador": Schema.nullable(Schema.id), "mentores": Schema.array(Schema.id),
    ], required: ["nombre", "fecha_inicio"])

    static let grupoWrite = Schema.object([
        "nombre": ["type": "string", "maxLength": 100], "descripcion": Schema.string,
        "num_estudiantes": ["type": "integer", "minimum": 0], "mentores": Schema.array(Schema.id),
    ], required: ["nombre"])

    static let calendarioWrite = Schema.object([
        "nombre": ["type": "string", "maxLength": 200], "fecha_inicio": Schema.date, "fecha_fin": Schema.date,
        "dias_habiles": Schema.array(["type": "integer", "minimum": 0, "maximum": 6]), "activo": Schema.boolean,
    ], required: ["nombre", "fecha_inicio", "fecha_fin"])

    static let horarioWrite = Schema.object([
        "grupo": Schema.id, "calendario": Schema.id, "dia_semana": ["type": "integer", "minimum": 0, "maximum": 6],
        "hora_inicio": Schema.time, "hora_fin": Schema.time, "aula": Schema.string,
    ], required: ["grupo", "calendario", "dia_semana", "hora_inicio", "hora_fin"])

    static let registroWrite = Schema.object([
        "mentor": Schema.id, "proyecto": Schema.id, "grupo": Schema.nullable(Schema.id), "fecha": Schema.date,
        "hora_inicio": Schema.time, "hora_fin": Schema.time, "descripcion": Schema.string,
    ], required: ["proyecto", "fecha", "hora_inicio", "hora_fin"])
}

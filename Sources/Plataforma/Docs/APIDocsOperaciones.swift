import Vapor

/// Métricas, auditoría and archivos in the OpenAPI document.
extension APIDocs {
    static let metricasSchema = Schema.object([
        "proyectos_activos": Schema.integer, "mentores_registrados": Schema.integer, "mentores_activos": Schema.integer,
        "horas_totales": Schema.number, "horas_pendientes": Schema.number, "horas_mes_actual": Schema.number,
        "horas_por_mes": Schema.array(Schema.object(["mes": Schema.string, "horas": Schema.number], required: ["mes", "horas"])),
        "horas_por_proyecto": Schema.array(Schema.object(["proyecto": Schema.id, "nombre": Schema.string, "horas": Schema.number],
                                                         required: ["proyecto", "nombre", "horas"])),
    ], required: ["proyectos_activos", "mentores_registrados", "mentores_activos", "horas_totales", "horas_pendientes",
                  "horas_mes_actual", "horas_por_mes", "horas_por_proyecto"])

    static let operaciones: [APIOperation] = [
        APIOperation(method: .GET, path: "/metrics", tag: "operaciones",
                     summary: "Métricas Prometheus (loopback, TRUSTED_PROXIES o Bearer METRICS_TOKEN)",
                     success: (.ok, Schema.string), successMediaType: "text/plain", authenticated: false, errors: [403]),
        APIOperation(method: .GET, path: "/api/metricas/", tag: "metricas", summary: "Métricas (horas aprobadas salvo pendientes)",
                     query: [("proyecto", Schema.id)] + range, success: (.ok, metricasSchema), errors: [400]),
        APIOperation(method: .GET, path: "/api/auditoria/", tag: "auditoria", summary: "Auditoría (más reciente primero)",
                     query: Schema.pagination + [("usuario", Schema.id), ("accion", Schema.choice(AccionAuditoria.allCases.map(\.rawValue))),
                                                 ("recurso", Schema.string)] + range,
                     success: (.ok, Schema.page("EntradaAuditoria")), errors: [400]),
    ]

    static let auditoriaSchema = Schema.object([
        "id": Schema.id, "usuario": Schema.nullable(Schema.id), "accion": Schema.choice(AccionAuditoria.allCases.map(\.rawValue)),
        "recurso": Schema.string, "recurso_id": Schema.nullable(Schema.string), "cambios": ["type": ["object", "null"]],
        "ip": Schema.string, "fecha": Schema.dateTime,
    ], required: ["id", "usuario", "accion", "recurso", "recurso_id", "cambios", "ip", "fecha"])
}

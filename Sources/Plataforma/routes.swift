import Vapor

/// Every route; `/api/` routes share content negotiation, authentication and throttling.
func routes(_ app: Application) throws {
    try app.register(collection: HealthController())
    try app.register(collection: PrometheusController())

    // Calendar apps fetch the agenda feed by its secret URL: no Bearer token, `Accept: text/calendar`.
    let agendaController = AgendaController()
    agendaController.bootFeed(routes: app.grouped("api").grouped(ThrottleMiddleware()))

    let api = app.grouped("api").grouped(JSONAcceptMiddleware())
    // Credentials endpoints read no session: an expired access cookie must not block a refresh.
    let credentials = api.grouped(ThrottleMiddleware())
    try credentials.register(collection: TokenController())
    try credentials.register(collection: SchemaController())
    let authController = AuthController()
    authController.bootCredentials(routes: credentials)

    let authenticated = api.grouped(AuthenticationMiddleware(), ThrottleMiddleware(), MetricasInvalidationMiddleware())
    authController.bootAccount(routes: authenticated)
    try authenticated.register(collection: UsuarioController())
    try authenticated.register(collection: RolController())
    try authenticated.register(collection: ConocimientoController())
    try authenticated.register(collection: MentorController())
    let certificadoController = CertificadoController()
    try authenticated.register(collection: certificadoController)
    try authenticated.register(collection: ProyectoController())
    try authenticated.register(collection: GrupoController())
    try authenticated.register(collection: CalendarioController())
    try authenticated.register(collection: DiaNoLectivoController())
    try authenticated.register(collection: HorarioController())
    try authenticated.register(collection: agendaController)
    try authenticated.register(collection: RegistroController())
    try authenticated.register(collection: MetricasController())
    try authenticated.register(collection: AuditoriaController())
    let archivoController = ArchivoController()
    try authenticated.register(collection: archivoController)
    let fotoController = FotoController()

    // Downloads negotiate their own media type, so they sit outside the JSON-only group.
    let downloads = app.grouped("api").grouped(AuthenticationMiddleware(), ThrottleMiddleware(), MetricasInvalidationMiddleware())
    RegistroExportController().boot(routes: downloads)
    archivoController.bootDownloads(routes: downloads)
    certificadoController.bootDownloads(routes: downloads)
    fotoController.boot(uploads: authenticated, downloads: downloads)
}

import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import NIOCore
import SQLKit
import Vapor

/// Builds the application from typed settings: database, JSON coding, middleware, services, routes.
public func configure(_ app: Application, settings: Settings) async throws {
    app.settings = settings
    // Password hashing and SQLite run on this pool; a pool of its own keeps one app's slow work
    // (or another app's, in tests) from starving it.
    app.threadPool = NIOThreadPool(numberOfThreads: max(4, System.coreCount * 2))
    app.http.server.configuration.hostname = settings.host
    app.http.server.configuration.port = settings.port
    app.routes.defaultMaxBodySize = ByteCount(value: settings.maxJSONBodyBytes)

    // Responses are written by APIJSONWriter; under test every one is also encoded by Foundation's
    // encoder and must be byte for byte the same (the whole suite and schemathesis check it).
    ContentConfiguration.global.use(encoder: APIJSONWriter(verifying: app.environment == .testing), for: .json)
    ContentConfiguration.global.use(decoder: APIJSON.decoder, for: .json)

    PrometheusExport.install()
    try configureDatabase(app, settings: settings)
    app.migrations.add(Migrations.all)

    try app.media.prepare()
    app.fieldCipher = try FieldCipher(configured: settings.fieldEncryptionKey, secretKey: settings.secretKey)
    app.configureRedis(settings)
    if let dsn = settings.sentry {
        app.sentry = SentryReporter(dsn: dsn, environment: settings.appEnv, client: app.client, logger: app.logger)
    }
    app.storage[TokenServiceKey.self] = await TokenService(settings: settings, redis: app.redis)

    _ = app.inFlightRequests  // created before any request can reach it
    _ = app.metricasCache
    _ = app.idempotencyClaims
    app.middleware = Middlewares()
    app.middleware.use(RequestLogMiddleware())
    app.middleware.use(CORSMiddleware(allowedOrigins: Set(settings.corsAllowedOrigins)))
    app.middleware.use(SecurityHeadersMiddleware(production: settings.isProduction))
    app.middleware.use(ErrorMiddleware())
    app.middleware.use(OptionsMiddleware())

    try routes(app)
    app.storage[RouteMethodIndex.Key.self] = RouteMethodIndex(routes: app.routes)

    app.asyncCommands.use(MigrateDatabaseCommand(), as: "migrate")
    app.asyncCommands.use(CreateSuperuserCommand(), as: "createsuperuser")
    app.asyncCommands.use(FlushExpiredTokensCommand(), as: "flush-expired-tokens")
    app.asyncCommands.use(RotateKeysCommand(), as: "rotate-keys")
    app.asyncCommands.use(SeedDemoCommand(), as: "seed-demo")
    app.asyncCommands.use(RebuildMetricasCommand(), as: "rebuild-metricas")
}

func configureDatabase(_ app: Application, settings: Settings) throws {
    switch settings.database {
    case .sqlite(let path):
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        app.databases.use(.sqlite(.file(path)), as: .sqlite)
        app.sqliteWriteLock = AsyncLock()
    case .postgres(let url, let searchPath):
        let configuration = try SQLPostgresConfiguration(url: url)
        let options = PostgresPool.Options(
            maxConnections: settings.databasePoolSize,
            leaseTimeout: .seconds(Int64(settings.databasePoolTimeout)),
            connectTimeout: .seconds(Int64(settings.databaseConnectTimeout)),
            searchPath: searchPath ?? configuration.searchPath,
            applicationName: settings.databaseApplicationName,
            preparedStatements: settings.databasePreparedStatements)
        let pool = PostgresPool(configuration: configuration.coreConfiguration, options: options,
                                eventLoopGroup: app.eventLoopGroup, logger: Logger(label: "plataforma.postgres"))
        app.postgresPool = pool
        app.databases.use(.pooledPostgres(pool), as: .psql)
    }
}

/// One-time database tuning: SQLite gets write-ahead logging, so readers don't wait for writers.
func prepareDatabase(_ app: Application) async throws {
    if app.settings.database.isSQLite, let sql = app.db as? any SQLDatabase {
        try await sql.raw("PRAGMA journal_mode=WAL").run()
    }
}

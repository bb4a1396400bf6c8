import Fluent

/// Every migration, in order. Append only: a released migration is never edited.
enum Migrations {
    static let all: [any Migration] = [
        CreateUsuario(),
        CreateTokenTables(),
        CreateMentores(),
        CreateProyectos(),
        CreateCalendario(),
        CreateIdempotencia(),
        CreateBloqueos(),
        UpdateAgendaTokenAddNonce(),
        CreateMetricasHoras(),
        CreateAuditoria(),
        CreateArchivos(),
        CreateMetricasContadores(),
        AddListIndexes(),
    ]
}

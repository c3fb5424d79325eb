//! Sample data for the task-list schema. For now a server-side `generate_series` insert
//! and a small trickle of new rows, enough for `demo` to show replication moving.

use color_eyre::eyre::{Result, WrapErr};
use tokio_postgres::Client;

/// Inserts `users` users and `tasks` tasks spread over them; ids continue after existing rows.
pub async fn sample(client: &Client, users: i64, tasks: i64) -> Result<()> {
    client
        .execute(
            "INSERT INTO utilisateur (username, email)
             SELECT 'user_' || n, 'user_' || n || '@example.com'
             FROM generate_series(COALESCE((SELECT max(id) FROM utilisateur), 0) + 1,
                                  COALESCE((SELECT max(id) FROM utilisateur), 0) + $1::bigint) AS n",
            &[&users],
        )
        .await
        .wrap_err("seeding utilisateur")?;
    trickle(client, tasks).await
}

/// Inserts `tasks` tasks owned by existing users.
pub async fn trickle(client: &Client, tasks: i64) -> Result<()> {
    client
        .execute(
            "INSERT INTO tache (title, description, due_date, is_completed, utilisateur_id)
             SELECT 'Tâche ' || n, 'Description de la tâche ' || n,
                    current_date + (n % 60)::int, n % 3 = 0,
                    (SELECT id FROM utilisateur ORDER BY random() LIMIT 1)
             FROM generate_series(1, $1::bigint) AS n",
            &[&tasks],
        )
        .await
        .wrap_err("inserting tasks")?;
    Ok(())
}

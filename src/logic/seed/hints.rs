//! What a column's name says about its content: `email`, `username`, `title`,
//! `due_date`, `is_completed`, `prix`… (English and French), on the name folded to ASCII
//! without separators (`due_date` → `duedate`).

use super::vocab::{DateStyle, Gen, TextStyle};

pub fn has(hint: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hint.contains(n))
}

pub fn text_style(h: &str) -> TextStyle {
    use TextStyle::*;
    if has(h, &["email", "courriel"]) || h == "mail" {
        Email
    } else if has(h, &["username", "login", "pseudo", "handle"]) || h == "user" {
        Username
    } else if has(h, &["firstname", "prenom", "givenname"]) {
        FirstName
    } else if has(h, &["lastname", "surname", "familyname", "nomdefamille"]) || h == "nom" {
        LastName
    } else if matches!(
        h,
        "name"
            | "fullname"
            | "displayname"
            | "nomcomplet"
            | "author"
            | "auteur"
            | "owner"
            | "contact"
    ) {
        FullName
    } else if has(
        h,
        &[
            "title", "titre", "subject", "sujet", "libelle", "summary", "heading",
        ],
    ) || h == "label"
    {
        Title
    } else if has(
        h,
        &[
            "description",
            "comment",
            "note",
            "body",
            "content",
            "contenu",
            "detail",
            "message",
            "texte",
            "text",
            "remarque",
        ],
    ) || h == "desc"
    {
        Description
    } else if has(h, &["city", "ville"]) {
        City
    } else if has(h, &["country", "pays"]) {
        Country
    } else if has(h, &["phone", "telephone", "mobile", "portable"]) || h == "tel" {
        Phone
    } else if has(h, &["url", "website", "siteweb", "link", "lien"]) {
        Url
    } else if has(h, &["address", "adresse"]) {
        Address
    } else {
        Words
    }
}

pub fn date_style(h: &str) -> DateStyle {
    if has(
        h,
        &[
            "due", "echeance", "deadline", "expir", "until", "limite", "fin", "end",
        ],
    ) {
        DateStyle::Due
    } else if has(h, &["birth", "naissance", "dob"]) {
        DateStyle::Birth
    } else if has(
        h,
        &[
            "created",
            "updated",
            "modified",
            "inserted",
            "creation",
            "modification",
            "seen",
            "login",
            "logged",
            "deleted",
            "cree",
            "modifie",
        ],
    ) || h.ends_with("at")
    {
        DateStyle::Past
    } else {
        DateStyle::Around
    }
}

pub fn bool_gen(h: &str) -> Gen {
    let done = has(h, &["complet", "done", "termine", "fini", "finished"]);
    let p_true = if done
        || has(
            h,
            &[
                "archiv", "deleted", "closed", "ferme", "paid", "paye", "cancel", "annule",
            ],
        ) {
        0.3
    } else if has(
        h,
        &[
            "active", "actif", "enabled", "visible", "valid", "verified", "public",
        ],
    ) {
        0.8
    } else {
        0.5
    };
    Gen::Bool {
        p_true,
        follows_due: done,
    }
}

pub fn int_gen(h: &str, bytes: u8) -> Gen {
    let (lo, hi) = if h == "age" {
        (18, 90)
    } else if has(h, &["year", "annee"]) {
        (1990, 2035)
    } else if has(h, &["qty", "quantit", "count", "nombre", "stock"]) || h.starts_with("nb") {
        (0, 500)
    } else if has(h, &["priorit", "rank", "level", "niveau", "rating"]) {
        (1, 5)
    } else {
        match bytes {
            2 => (0, 1000),
            4 => (0, 100_000),
            _ => (0, 10_000_000),
        }
    };
    Gen::Int { bytes, lo, hi }
}

pub fn numeric_gen(h: &str, typmod: i32) -> Gen {
    let (precision, scale) = if typmod >= 4 {
        let m = typmod - 4;
        let p = (m >> 16) & 0xffff;
        // Scale is an 11-bit signed field since PostgreSQL 15; negative scales are rare.
        let s = (m & 0x7ff).min(p);
        (Some(p as u32), s as u16)
    } else {
        (None, 2)
    };
    let units: i128 = if has(
        h,
        &[
            "price", "prix", "amount", "montant", "total", "cost", "cout", "salar", "balance",
            "solde",
        ],
    ) {
        2000
    } else {
        10_000
    };
    let pow = 10i128.pow(u32::from(scale));
    let limit = precision.map(|p| 10i128.pow(p.min(38)));
    let mut hi = units * pow;
    if let Some(l) = limit {
        hi = hi.min(l - 1);
    }
    Gen::Numeric { scale, hi, limit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_column_names() {
        assert_eq!(text_style("email"), TextStyle::Email);
        assert_eq!(text_style("username"), TextStyle::Username);
        assert_eq!(text_style("title"), TextStyle::Title);
        assert_eq!(text_style("description"), TextStyle::Description);
        assert_eq!(text_style("ab"), TextStyle::Words);
        assert_eq!(date_style("duedate"), DateStyle::Due);
        assert_eq!(date_style("createdat"), DateStyle::Past);
        assert!(matches!(
            bool_gen("iscompleted"),
            Gen::Bool {
                follows_due: true,
                ..
            }
        ));
    }
}

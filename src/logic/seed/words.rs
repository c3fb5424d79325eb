//! French words for realistic sample rows (the sample schema is French: `utilisateur`,
//! `tache`). Accents are deliberate: they exercise UTF-8 end to end.

pub const FIRST_NAMES: &[&str] = &[
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Emma",
    "Zoé",
    "Alice",
    "Lucas",
    "Hugo",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Nathan",
    "Théo",
    "Raphaël",
    "Léo",
    "Mathis",
    "Sacha",
    "Élodie",
    "Noémie",
    "Anaïs",
    "Margaux",
    "Antoine",
    "Baptiste",
    "Clément",
    "Maxime",
    "Céline",
    "Sébastien",
    "Hélène",
    "François",
    "Amélie",
    "Benoît",
    "Joël",
    "Gaëlle",
    "Loïc",
    "Maëlle",
];

pub const LAST_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèbvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
];

pub const EMAIL_DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];

pub const TASK_VERBS: &[&str] = &[
    "Préparer",
    "Relire",
    "Envoyer",
    "Appeler",
    "Planifier",
    "Corriger",
    "Mettre à jour",
    "Vérifier",
    "Rédiger",
    "Organiser",
    "Valider",
    "Archiver",
    "Tester",
    "Installer",
    "Réserver",
    "Commander",
    "Ranger",
    "Payer",
    "Renouveler",
    "Présenter",
];

pub const TASK_OBJECTS: &[&str] = &[
    "le rapport trimestriel",
    "la réunion d'équipe",
    "le devis client",
    "la facture de mars",
    "le planning des congés",
    "la présentation",
    "le contrat fournisseur",
    "les tests de recette",
    "la documentation",
    "le budget annuel",
    "la salle de réunion",
    "le compte rendu",
    "la base de données",
    "le serveur de sauvegarde",
    "les billets de train",
    "la revue de code",
    "le formulaire d'inscription",
    "la lettre d'information",
    "l'inventaire",
    "le dossier de subvention",
];

pub const TASK_COMPLEMENTS: &[&str] = &[
    "",
    "",
    "",
    " avant vendredi",
    " pour lundi",
    " avec l'équipe produit",
    " en urgence",
    " pour le client Dupont",
    " avant la fin du mois",
    " pour la démo",
    " (2e relance)",
    " après validation",
];

pub const SENTENCES: &[&str] = &[
    "Penser à vérifier les chiffres avant l'envoi.",
    "Voir avec l'équipe pour la relecture.",
    "Bloqué en attente du retour du client.",
    "Prévoir une heure, pas plus.",
    "Les documents sont dans le dossier partagé.",
    "Priorité haute : le comité se réunit jeudi.",
    "Reporté depuis la semaine dernière.",
    "Demander la validation du responsable.",
    "Attention aux accents dans les noms de fichiers.",
    "Mettre le service juridique en copie.",
    "Le modèle de l'an dernier peut servir de base.",
    "À faire en binôme si possible.",
    "Ne pas oublier la pièce jointe.",
    "Vérifier les droits d'accès avant de commencer.",
    "Déjà commencé, reste la mise en forme.",
    "Relancer par téléphone si pas de réponse.",
];

pub const CITIES: &[&str] = &[
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Nantes",
    "Lille",
    "Bordeaux",
    "Strasbourg",
    "Rennes",
    "Grenoble",
    "Montpellier",
    "Nice",
    "Dijon",
    "Angers",
    "Brest",
    "Besançon",
    "Orléans",
    "Saint-Étienne",
    "Clermont-Ferrand",
    "Le Mans",
];

pub const COUNTRIES: &[&str] = &[
    "France",
    "Belgique",
    "Suisse",
    "Canada",
    "Luxembourg",
    "Sénégal",
    "Maroc",
    "Tunisie",
];

pub const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Voltaire",
    "place de l'Église",
    "rue des Écoles",
    "chemin du Moulin",
    "impasse des Lilas",
    "quai de la Loire",
];

pub const WORDS: &[&str] = &[
    "projet",
    "tâche",
    "équipe",
    "client",
    "réunion",
    "budget",
    "rapport",
    "dossier",
    "note",
    "idée",
    "bilan",
    "étape",
    "livraison",
    "contrat",
    "facture",
    "planning",
    "révision",
    "priorité",
    "échéance",
    "suivi",
];

pub const JSON_TAGS: &[&str] = &["urgent", "interne", "client", "à-relire", "été", "q3"];

/// ASCII for user names and e-mail addresses: the accented letters of the lists above
/// lose their accents, anything else that is not alphanumeric is dropped.
pub fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let folded = match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
            'î' | 'ï' | 'Î' => 'i',
            'ô' | 'ö' | 'Ô' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' | 'Ç' => 'c',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(folded);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_names_readable() {
        assert_eq!(ascii_fold("Élodie"), "elodie");
        assert_eq!(ascii_fold("Lefèbvre"), "lefebvre");
        assert_eq!(ascii_fold("Maëlle"), "maelle");
        assert_eq!(ascii_fold("Saint-Étienne"), "saintetienne");
        for n in FIRST_NAMES.iter().chain(LAST_NAMES) {
            let f = ascii_fold(n);
            assert!(!f.is_empty() && f.is_ascii(), "{n} → {f}");
        }
    }
}
